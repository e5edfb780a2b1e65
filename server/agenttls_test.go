package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/pkg/tlsutil"
	"github.com/slipwayhq/slipway/server/core/config"
)

// The agent's trust files in its data dir (agent/session's HostCrtFile, HostKeyFile and CAFile;
// server code may not import the agent).
const (
	agentCAFile      = "ca.pem"
	agentHostKeyFile = "host-key.pem"
	agentHostCrtFile = "host.pem"
)

// tlsAgents is a TLS cluster whose hosts' certificates live a few seconds, so renewals happen
// within a test.
func tlsAgents(validity time.Duration) testutil.Options {
	return testutil.Options{TLS: true, Tweak: func(i int, cfg *config.Config) {
		fastAgents(i, cfg)
		cfg.Agents.HostCertValidity = validity
	}}
}

// agentFiles reads what an agent keeps: its identity and its host certificate and key.
type agentFiles struct {
	HostID, Secret string
	Cert           tls.Certificate
}

func readAgent(t *testing.T, a *testutil.Agent) agentFiles {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(a.DataDir, "identity.json"))
	if err != nil {
		t.Fatal(err)
	}
	var id struct {
		HostID string `json:"host_id"`
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(raw, &id); err != nil {
		t.Fatal(err)
	}
	c, err := tls.LoadX509KeyPair(filepath.Join(a.DataDir, agentHostCrtFile), filepath.Join(a.DataDir, agentHostKeyFile))
	if err != nil {
		t.Fatalf("the agent's host certificate: %v", err)
	}
	return agentFiles{HostID: id.HostID, Secret: id.Secret, Cert: c}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// TestAgentOverTLS: an agent given only the CA pin registers with a TLS cluster, learns and saves
// the CA, gets a host certificate for its own host ID, and runs a deployment (session and bundle
// download over mutual TLS).
func TestAgentOverTLS(t *testing.T) {
	c := testutil.NewCluster(t, 1, tlsAgents(0))
	tok, err := c.Client(0).HostTokenCreate(context.Background(), api.HostTokenCreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if tok.CAPin != c.TLS().CA.Pin() {
		t.Fatalf("registration token's ca_pin = %q, want the cluster CA's %q", tok.CAPin, c.TLS().CA.Pin())
	}
	a := testutil.StartAgent(t, c, "host-1")
	c.WaitHost("host-1")
	f := readAgent(t, a)
	if id, ok := tlsutil.HostID(f.Cert.Leaf); !ok || id != f.HostID {
		t.Fatalf("host certificate names %q, want the host's ID %s", id, f.HostID)
	}
	if life := f.Cert.Leaf.NotAfter.Sub(f.Cert.Leaf.NotBefore); life > tlsutil.DefaultHostCertValidity+2*time.Minute || life < tlsutil.DefaultHostCertValidity {
		t.Fatalf("host certificate lives %s, want the default %s", life, tlsutil.DefaultHostCertValidity)
	}
	saved, err := tlsutil.ReadCerts(filepath.Join(a.DataDir, agentCAFile))
	if err != nil || tlsutil.Pin(saved[0]) != c.TLS().CA.Pin() {
		t.Fatalf("saved CA: %v %v", saved, err)
	}
	if m := mode(t, filepath.Join(a.DataDir, agentHostKeyFile)); m != 0o600 {
		t.Errorf("host key mode %o, want 600", m)
	}
	if m := mode(t, filepath.Join(a.DataDir, agentCAFile)); m != 0o644 {
		t.Errorf("saved CA mode %o, want 644", m)
	}
	dir := t.TempDir()
	cl, d := deployRevision(t, c, "web", hookBundle(t, filepath.Join(dir, "record"), filepath.Join(dir, "installed"), nil), "host-1")
	if d = waitDeployment(t, cl, d.ID); d.Status != api.DeploymentSucceeded {
		t.Fatalf("deployment over TLS %s: %+v", d.Status, d.Targets)
	}
}

// TestHostCertificateActsOnlyAsItsHost: on a TLS server a host secret needs its own host's
// certificate; host A's certificate cannot be used as host B, nor can a client certificate, nor
// none. Renewal takes the host secret alone, but not with another host's certificate.
func TestHostCertificateActsOnlyAsItsHost(t *testing.T) {
	c := testutil.NewCluster(t, 1, tlsAgents(0))
	a1 := testutil.StartAgent(t, c, "host-1")
	a2 := testutil.StartAgent(t, c, "host-2")
	c.WaitHost("host-1")
	c.WaitHost("host-2")
	dir := t.TempDir()
	cl, d := deployRevision(t, c, "web", hookBundle(t, filepath.Join(dir, "record"), filepath.Join(dir, "installed"), nil), "host-1")
	waitDeployment(t, cl, d.ID)
	h1, h2 := readAgent(t, a1), readAgent(t, a2)
	clientCert := c.TLS().KeyPair(t, tlsutil.KindClient, "some-client")

	do := func(method, path string, body []byte, certs ...tls.Certificate) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, c.URL(0)+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+h1.Secret)
		resp, err := c.TLS().HTTPClientWith(certs...).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	bundle := "/v1/agent/deployments/" + d.ID + "/bundle"
	if code, _ := do("GET", bundle, nil, h1.Cert); code != http.StatusOK {
		t.Fatalf("host-1's secret with host-1's certificate: %d, want 200", code)
	}
	for _, tc := range []struct {
		name  string
		certs []tls.Certificate
		want  string
	}{
		{"no certificate", nil, "presented none"},
		{"host-2's certificate", []tls.Certificate{h2.Cert}, "authenticates only the host it names"},
		{"a client certificate", []tls.Certificate{clientCert}, "not a host certificate"},
	} {
		for _, path := range []string{bundle, "/v1/agent/session"} {
			if code, msg := do("GET", path, nil, tc.certs...); code != http.StatusForbidden || !strings.Contains(msg, tc.want) {
				t.Errorf("host-1's secret with %s on %s: %d %s; want 403 saying %q", tc.name, path, code, msg, tc.want)
			}
		}
	}

	// Renewal: the secret alone (an expired certificate is not presented) renews for host-1.
	key, _ := tlsutil.NewKey()
	csr, _ := tlsutil.NewCSR(key, "whatever")
	body, _ := json.Marshal(agentproto.CertificateRequest{CSR: string(csr)})
	code, msg := do("POST", "/v1/agent/certificate", body)
	var reply agentproto.CertificateReply
	if code != http.StatusOK || json.Unmarshal([]byte(msg), &reply) != nil {
		t.Fatalf("renewal with the host secret alone: %d %s", code, msg)
	}
	certs, err := tlsutil.ParseCerts([]byte(reply.Certificate))
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := tlsutil.HostID(certs[0]); id != h1.HostID {
		t.Fatalf("renewed certificate names %q, want host-1 %s", id, h1.HostID)
	}
	if code, msg := do("POST", "/v1/agent/certificate", body, h2.Cert); code != http.StatusForbidden || !strings.Contains(msg, "authenticates only the host it names") {
		t.Fatalf("renewal for host-1 with host-2's certificate: %d %s; want 403", code, msg)
	}
}

// TestAgentRenewsItsCertificate: with 6 s certificates the agent renews after 4 s, over and
// over, and stays online; a certificate that expired while the agent was stopped is renewed with
// the host secret alone when it starts again.
func TestAgentRenewsItsCertificate(t *testing.T) {
	c := testutil.NewCluster(t, 1, tlsAgents(6*time.Second))
	a := testutil.StartAgent(t, c, "host-1")
	c.WaitHost("host-1")
	first := readAgent(t, a).Cert.Leaf
	testutil.Eventually(t, 30*time.Second, func() error {
		if got := readAgent(t, a).Cert.Leaf; got.SerialNumber.Cmp(first.SerialNumber) == 0 {
			return fmt.Errorf("still the first certificate")
		}
		return nil
	})

	// Stopped for longer than its certificate lives: install an expired certificate for the
	// agent's own key, signed by the cluster CA, and start the agent without a registration token.
	a.Kill()
	f := readAgent(t, a)
	expired := signExpired(t, c.TLS().CA, f.Cert.Leaf)
	if err := os.WriteFile(filepath.Join(a.DataDir, agentHostCrtFile), expired, 0o644); err != nil {
		t.Fatal(err)
	}
	a.SetArgs(withoutFlag(a.Args(), "--registration-token"))
	a.Start()
	testutil.Eventually(t, 30*time.Second, func() error {
		if leaf := readAgent(t, a).Cert.Leaf; !time.Now().Before(leaf.NotAfter) {
			return fmt.Errorf("the host certificate is still the expired one")
		}
		if !strings.Contains(a.Output(), "host certificate renewed") {
			return fmt.Errorf("no renewal logged yet")
		}
		return nil
	})
	c.WaitHost("host-1")
}

// signExpired signs a copy of leaf that expired an hour ago.
func signExpired(t *testing.T, ca *tlsutil.CA, leaf *x509.Certificate) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: leaf.Subject.CommonName},
		NotBefore: time.Now().Add(-3 * time.Hour), NotAfter: time.Now().Add(-time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, URIs: leaf.URIs,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, leaf.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// withoutFlag drops a flag and its value from args.
func withoutFlag(args []string, flag string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if args[i] == flag {
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}

// replaceFlag sets a flag's value in args.
func replaceFlag(args []string, flag, value string) []string {
	out := append([]string(nil), args...)
	for i := range out {
		if out[i] == flag && i+1 < len(out) {
			out[i+1] = value
		}
	}
	return out
}

// TestAgentPinnedToAnotherCARefusesToRegister: the pin of another CA makes the agent stop
// before it sends anything, with a message naming the pin.
func TestAgentPinnedToAnotherCARefusesToRegister(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{TLS: true})
	tok, err := c.Client(0).HostTokenCreate(context.Background(), api.HostTokenCreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := tlsutil.NewCA("another CA", 0)
	if err != nil {
		t.Fatal(err)
	}
	out := runAgentOnce(t, "run", "--server", c.URL(0), "--registration-token", tok.Token, "--ca-pin", other.Pin(),
		"--data-dir", filepath.Join(t.TempDir(), "agent"), "--name", "wrong-pin")
	if !strings.Contains(out, "no CA with pin "+other.Pin()) || !strings.Contains(out, "nothing was sent") {
		t.Fatalf("agent pinned to another CA said:\n%s", out)
	}
	hosts, err := c.Client(0).HostList(context.Background(), nil)
	if err != nil || len(hosts.Hosts) != 0 {
		t.Fatalf("hosts after a refused registration: %+v %v", hosts, err)
	}

	// https without a pin or CA, and http with a pin, are refused with the flags named.
	out = runAgentOnce(t, "run", "--server", c.URL(0), "--registration-token", tok.Token,
		"--data-dir", filepath.Join(t.TempDir(), "agent"), "--name", "no-pin")
	if !strings.Contains(out, "--ca-pin") || !strings.Contains(out, "--ca-file") {
		t.Fatalf("agent without a pin against https said:\n%s", out)
	}
	out = runAgentOnce(t, "run", "--server", strings.Replace(c.URL(0), "https://", "http://", 1), "--registration-token", tok.Token,
		"--ca-pin", tok.CAPin, "--data-dir", filepath.Join(t.TempDir(), "agent"), "--name", "http-pin")
	if !strings.Contains(out, "plain HTTP") {
		t.Fatalf("agent with a pin against http said:\n%s", out)
	}
}

// runAgentOnce runs slipway-agent, which must exit with an error within a minute, and returns
// its output.
func runAgentOnce(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, testutil.AgentBinary(t), args...).CombinedOutput()
	if err == nil || ctx.Err() != nil {
		t.Fatalf("agent %v did not fail (err %v):\n%s", args, err, out)
	}
	return string(out)
}

// mitm is a TLS-terminating proxy with its own CA's certificate in front of a server: it records
// every Authorization header it sees and counts TLS handshakes attempted with it.
type mitm struct {
	*httptest.Server
	mu    sync.Mutex
	auth  []string
	conns atomic.Int64
}

func newMITM(t *testing.T, target string, hc *http.Client) *mitm {
	t.Helper()
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = hc.Transport
	m := &mitm{}
	m.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		if a := r.Header.Get("Authorization"); a != "" {
			m.auth = append(m.auth, a)
		}
		m.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	m.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			m.conns.Add(1)
		}
	}
	ca, err := tlsutil.NewCA("attacker CA", 0)
	if err != nil {
		t.Fatal(err)
	}
	// The attacker's certificate even carries the cluster's server name.
	certPEM, keyPEM, err := ca.Issue(tlsutil.Request{Kind: tlsutil.KindServer, Name: "proxy"})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(append(certPEM, ca.CertPEM()...), keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	m.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	m.StartTLS()
	t.Cleanup(m.Close)
	return m
}

func (m *mitm) sawAuthorization() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.auth...)
}

// TestManInTheMiddle: a proxy with its own certificate between agent and server makes the agent
// fail closed, at registration with a pin and for sessions with the saved CA, and no secret
// reaches the proxy.
func TestManInTheMiddle(t *testing.T) {
	c := testutil.NewCluster(t, 1, tlsAgents(0))
	m := newMITM(t, c.URL(0), c.HTTPClient())
	tok, err := c.Client(0).HostTokenCreate(context.Background(), api.HostTokenCreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	out := runAgentOnce(t, "run", "--server", m.URL, "--registration-token", tok.Token, "--ca-pin", tok.CAPin,
		"--data-dir", filepath.Join(t.TempDir(), "agent"), "--name", "via-proxy")
	if !strings.Contains(out, "refusing server") || !strings.Contains(out, "no CA with pin") {
		t.Fatalf("registration through the proxy said:\n%s", out)
	}
	if m.conns.Load() == 0 {
		t.Fatal("the agent never reached the proxy: the test proves nothing")
	}

	// A registered agent (CA saved) whose server address now leads to the proxy.
	a := testutil.StartAgent(t, c, "host-1")
	c.WaitHost("host-1")
	a.Kill()
	before := m.conns.Load()
	idFile := filepath.Join(a.DataDir, "identity.json")
	raw, err := os.ReadFile(idFile)
	if err != nil {
		t.Fatal(err)
	}
	var id map[string]any
	if err := json.Unmarshal(raw, &id); err != nil {
		t.Fatal(err)
	}
	id["servers"] = []string{m.URL}
	raw, _ = json.Marshal(id)
	if err := os.WriteFile(idFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	a.SetArgs(replaceFlag(withoutFlag(a.Args(), "--registration-token"), "--server", m.URL))
	a.Start()
	testutil.Eventually(t, 30*time.Second, func() error {
		if m.conns.Load() == before || !strings.Contains(a.Output(), "refusing server") {
			return fmt.Errorf("the agent has not refused the proxy yet")
		}
		return nil
	})
	if !strings.Contains(a.Output(), "not a server certificate of this cluster's CA") {
		t.Fatalf("the agent's refusal does not say why:\n%s", a.Output())
	}
	if seen := m.sawAuthorization(); len(seen) > 0 {
		t.Fatalf("the proxy saw Authorization headers: %q", seen)
	}
}

// TestTLSServerWithoutCAKeyRefusesRegistration: a TLS server that cannot sign host certificates
// says which flag it needs, and a registration over TLS without a certificate request is refused.
func TestTLSServerWithoutCAKeyRefusesRegistration(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{TLS: true, Tweak: func(_ int, cfg *config.Config) { cfg.TLS.CAKeyFile = "" }})
	tok, err := c.Client(0).HostTokenCreate(context.Background(), api.HostTokenCreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if tok.CAPin != c.TLS().CA.Pin() {
		t.Fatalf("ca_pin %q: a server without the CA key still knows the CA", tok.CAPin)
	}
	key, _ := tlsutil.NewKey()
	csr, _ := tlsutil.NewCSR(key, "h")
	register := func(csr string) (int, string) {
		body, _ := json.Marshal(agentproto.Register{HostID: "h-1", Secret: strings.Repeat("s", 40), Name: "h-1", CSR: csr})
		req, _ := http.NewRequest("POST", c.URL(0)+"/v1/agent/register", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		resp, err := c.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, msg := register(string(csr)); code != http.StatusServiceUnavailable || !strings.Contains(msg, "--tls-ca-key-file") {
		t.Fatalf("registration on a server without the CA key: %d %s", code, msg)
	}
	if code, msg := register(""); code != http.StatusBadRequest || !strings.Contains(msg, "certificate request") {
		t.Fatalf("registration over TLS without a CSR: %d %s", code, msg)
	}
	hosts, err := c.Client(0).HostList(context.Background(), nil)
	if err != nil || len(hosts.Hosts) != 0 {
		t.Fatalf("a refused registration left a host: %+v %v", hosts, err)
	}
}

// TestAgentsWithRequiredClientCertificates: with tls.require_client_cert an agent still
// registers (it has no certificate yet), runs its session with its host certificate, and an
// agent whose certificate expired renews with its host secret alone.
func TestAgentsWithRequiredClientCertificates(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{TLS: true, Tweak: func(i int, cfg *config.Config) {
		fastAgents(i, cfg)
		cfg.TLS.RequireClientCert = true
	}})
	a := testutil.StartAgent(t, c, "host-1")
	c.WaitHost("host-1")
	f := readAgent(t, a)
	key, _ := tlsutil.NewKey()
	csr, _ := tlsutil.NewCSR(key, "h")
	body, _ := json.Marshal(agentproto.CertificateRequest{CSR: string(csr)})
	req, _ := http.NewRequest("POST", c.URL(0)+"/v1/agent/certificate", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.Secret)
	resp, err := c.TLS().HTTPClientWith().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("renewal without a certificate where client certificates are required: %d %s", resp.StatusCode, msg)
	}
}
