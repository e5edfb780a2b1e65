package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/rpc"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/pkg/tlsutil"
	"github.com/slipwayhq/slipway/server/acl"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/blob"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/config"
	"github.com/slipwayhq/slipway/server/core/raftstore"
	"github.com/slipwayhq/slipway/server/core/state"
)

// TestTLSClusterLifecycle: a 3-node cluster with mutual TLS on the cluster port and TLS on the
// API forms, elects, replicates writes made through a follower and blobs pushed between
// servers, proxies a leader-only request from a follower, elects again after its leader is
// killed, and catches the killed node up when it comes back.
func TestTLSClusterLifecycle(t *testing.T) {
	c := testutil.NewCluster(t, 3, testutil.Options{TLS: true})
	ctx := context.Background()
	for i := 0; i < c.Len(); i++ {
		if got := c.Server(i).HTTPAddr(); got != c.URL(i) || !strings.HasPrefix(got, "https://") {
			t.Fatalf("node %d advertises %s, want %s", i, got, c.URL(i))
		}
	}
	f := c.Follower()
	for i := 0; i < 20; i++ {
		if _, err := c.Client(f).AppCreate(ctx, api.AppCreateRequest{Name: fmt.Sprintf("before-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	// Blob pushes between servers ride the cluster port (protocol B): the upload is acknowledged
	// once a quorum holds it, and every server ends up with it.
	data, sha := testutil.RandomBundle(t, 64<<10)
	rev, _, err := c.Client(f).RevisionPush(ctx, "before-0", bytes.NewReader(data), int64(len(data)), sha, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < c.Len(); i++ {
		testutil.Eventually(t, 20*time.Second, func() error {
			d, err := c.Client(i).RevisionDownload(ctx, rev.ID, 0)
			if err != nil {
				return err
			}
			defer func() { _ = d.Body.Close() }()
			b, err := io.ReadAll(d.Body)
			if err == nil && !bytes.Equal(b, data) {
				err = fmt.Errorf("node %d served %d other bytes", i, len(b))
			}
			return err
		})
	}
	// A leader-only request on a follower is proxied to the leader over TLS.
	var snap bytes.Buffer
	if err := c.Client(c.Follower()).SnapshotSave(ctx, &snap); err != nil {
		t.Fatalf("snapshot through a follower (proxied to the leader): %v", err)
	}

	old := c.WaitLeader()
	c.Kill(old)
	leader := c.WaitLeader()
	if leader == old {
		t.Fatal("the killed node still leads")
	}
	for i := 0; i < 300; i++ { // past the snapshot threshold: the restarted node may need a snapshot
		if _, err := c.Client(c.Follower()).AppCreate(ctx, api.AppCreateRequest{Name: fmt.Sprintf("after-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	c.Start(old)
	leader = c.WaitLeader()
	c.WaitApplied(c.Server(leader).Node().FSM().AppliedIndex())
	want, err := testutil.ListApps(ctx, c.Client(leader), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 320 {
		t.Fatalf("leader has %d apps, want 320", len(want))
	}
	got, err := testutil.ListApps(ctx, c.Client(old), false)
	if err != nil {
		t.Fatal(err)
	}
	if d := testutil.SetDiff(want, got); d != "" {
		t.Fatalf("restarted node differs from the leader: %s", d)
	}
}

// clusterDial connects to a Raft port as an outsider would, with cfg (nil: plain TCP), and
// sends the protocol byte.
func clusterDial(addr string, cfg *tls.Config, proto byte) (net.Conn, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if cfg != nil {
		tc := tls.Client(conn, cfg)
		if err := tc.Handshake(); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("%w: %w", errHandshake, err)
		}
		conn = tc
	}
	if _, err := conn.Write([]byte{proto}); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return conn, nil
}

var errHandshake = errors.New("TLS handshake failed")

// forwardApply sends an encoded command to Cluster.Apply, as a follower forwards writes.
func forwardApply(addr string, cfg *tls.Config, c *command.Command) error {
	data, err := command.Encode(c)
	if err != nil {
		return err
	}
	conn, err := clusterDial(addr, cfg, 'P')
	if err != nil {
		return err
	}
	cl := rpc.NewClient(conn)
	defer func() { _ = cl.Close() }()
	var reply raftstore.ApplyReply
	if err := cl.Call("Cluster.Apply", raftstore.ApplyArgs{Data: data}, &reply); err != nil {
		return err
	}
	if reply.NotLeader {
		return errors.New("not the leader")
	}
	return reply.Result.Err()
}

type blobLine struct {
	Op     string `json:"op,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Size   int64  `json:"size,omitempty"`
	Have   bool   `json:"have,omitempty"`
	Error  string `json:"error,omitempty"`
}

// blobPut pushes data as a blob, as a peer does.
func blobPut(addr string, cfg *tls.Config, data []byte) error {
	conn, err := clusterDial(addr, cfg, blob.Proto)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	sum := sha256.Sum256(data)
	br := bufio.NewReader(conn)
	if err := json.NewEncoder(conn).Encode(blobLine{Op: "put", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}); err != nil {
		return err
	}
	var rep blobLine
	if err := readBlobLine(br, &rep); err != nil {
		return err
	}
	if _, err := conn.Write(data); err != nil {
		return err
	}
	return readBlobLine(br, &rep)
}

// blobGet reads a blob, as a peer does.
func blobGet(addr string, cfg *tls.Config, sha string) ([]byte, error) {
	conn, err := clusterDial(addr, cfg, blob.Proto)
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close() }()
	br := bufio.NewReader(conn)
	if err := json.NewEncoder(conn).Encode(blobLine{Op: "get", SHA256: sha}); err != nil {
		return nil, err
	}
	var rep blobLine
	if err := readBlobLine(br, &rep); err != nil {
		return nil, err
	}
	return io.ReadAll(br)
}

func readBlobLine(br *bufio.Reader, v *blobLine) error {
	line, err := br.ReadBytes('\n')
	if err != nil {
		return err
	}
	if err := json.Unmarshal(line, v); err != nil {
		return err
	}
	if v.Error != "" {
		return errors.New(v.Error)
	}
	return nil
}

// files lists every file under dir.
func files(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out[p] = true
		}
		return err
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}

func tokenCommand(t *testing.T, accessor string) *command.Command {
	t.Helper()
	c, err := acl.CmdCreateToken.New("intruder-"+accessor, time.Now(), acl.CreateTokenPayload{Token: acl.Token{
		AccessorID: accessor, SecretHash: auth.HashSecret("slw_intruder-secret-" + accessor), Name: "intruder", Type: api.TokenTypeManagement,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func hasToken(t *testing.T, st *state.Store, accessor string) bool {
	t.Helper()
	var found bool
	_ = st.View(func(tx *state.Tx) error {
		_, err := tx.GetToken(accessor)
		found = err == nil
		return nil
	})
	return found
}

// TestTLSClusterPortRefusesOutsiders is the issue's "Done means": a client with no certificate,
// with a certificate of another CA, or with a client, CLI or host certificate of the cluster's
// own CA dials a TLS cluster's Raft port and tries a forwarded apply (creating a management
// token), a blob write and a blob read. Every attempt fails, and nothing reaches the state or
// the blob store. With TLS 1.2 the failure is visible at the client's handshake; with TLS 1.3 the
// server refuses after the client's last flight, so the first exchange fails. A plaintext
// dialer fails too. The same attempts with a server certificate of the cluster succeed, which
// shows that the attempts speak the protocols correctly.
func TestTLSClusterPortRefusesOutsiders(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{TLS: true})
	ctx := context.Background()
	s := c.Server(0)
	addr := s.RaftAddr()
	ct := c.TLS()

	data, sha := testutil.RandomBundle(t, 16<<10)
	if _, err := c.Client(0).AppCreate(ctx, api.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Client(0).RevisionPush(ctx, "web", bytes.NewReader(data), int64(len(data)), sha, ""); err != nil {
		t.Fatal(err)
	}
	blobDir := filepath.Join(c.Config(0).DataDir, "blobs")

	other := testutil.NewClusterTLS(t, t.TempDir())
	creds := []struct {
		name  string
		certs []tls.Certificate // nil: none
		plain bool
	}{
		{name: "no certificate"},
		{name: "client certificate of another CA", certs: []tls.Certificate{other.KeyPair(t, tlsutil.KindClient, "other-client")}},
		{name: "server certificate of another CA", certs: []tls.Certificate{other.KeyPair(t, tlsutil.KindServer, "other-server")}},
		{name: "client certificate of the cluster CA", certs: []tls.Certificate{ct.KeyPair(t, tlsutil.KindClient, "intruder-client")}},
		{name: "CLI certificate of the cluster CA", certs: []tls.Certificate{ct.KeyPair(t, tlsutil.KindCLI, "intruder-cli")}},
		{name: "host certificate of the cluster CA", certs: []tls.Certificate{ct.KeyPair(t, tlsutil.KindHost, "intruder-host")}},
		{name: "plaintext", plain: true},
	}
	for _, cr := range creds {
		for _, ver := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			if cr.plain && ver == tls.VersionTLS13 {
				continue
			}
			t.Run(fmt.Sprintf("%s/%s", cr.name, tls.VersionName(ver)), func(t *testing.T) {
				var cfg *tls.Config
				if !cr.plain {
					// The intruder knows the CA certificate (it is public); it verifies nothing.
					cfg = &tls.Config{InsecureSkipVerify: true, Certificates: cr.certs, MinVersion: ver, MaxVersion: ver} //nolint:gosec // an intruder
				}
				handshakeOnly := !cr.plain && ver == tls.VersionTLS12
				check := func(what string, err error) {
					t.Helper()
					if err == nil {
						t.Fatalf("%s succeeded", what)
					}
					if handshakeOnly && !errors.Is(err, errHandshake) {
						t.Fatalf("%s: want a failed TLS handshake, got %v", what, err)
					}
				}
				before := files(t, blobDir)
				accessor := fmt.Sprintf("%x", sha256.Sum256([]byte(t.Name())))[:32]
				check("forwarded apply", forwardApply(addr, cfg, tokenCommand(t, accessor)))
				check("blob write", blobPut(addr, cfg, []byte("intruder bytes "+t.Name())))
				got, err := blobGet(addr, cfg, sha)
				check("blob read", err)
				if len(got) > 0 {
					t.Fatalf("blob read returned %d bytes", len(got))
				}
				// Anything that got through would be applied by now: the apply above returns only
				// after commit, and the blob write only after the file is in place.
				if hasToken(t, s.Node().State(), accessor) {
					t.Fatal("the forwarded apply created a token")
				}
				if after := files(t, blobDir); len(after) != len(before) {
					t.Fatalf("blob files changed: %d before, %d after", len(before), len(after))
				}
			})
		}
	}

	t.Run("server certificate of the cluster CA", func(t *testing.T) {
		cfg := &tls.Config{RootCAs: ct.CA.Pool(), ServerName: tlsutil.ServerName, MinVersion: tls.VersionTLS12,
			Certificates: []tls.Certificate{ct.KeyPair(t, tlsutil.KindServer, "peer")}}
		if err := forwardApply(addr, cfg, tokenCommand(t, "peer-token")); err != nil {
			t.Fatal(err)
		}
		if !hasToken(t, s.Node().State(), "peer-token") {
			t.Fatal("the server's apply created no token")
		}
		// A server of the cluster reaches the blob protocol itself: servers exchange blob files
		// as stored (encrypted), so a put of plaintext is refused by the protocol, after the
		// handshake, and a get returns the stored ciphertext.
		err := blobPut(addr, cfg, []byte("peer bytes"))
		if err == nil || errors.Is(err, errHandshake) || !strings.Contains(err.Error(), "not an encrypted blob file") {
			t.Fatalf("blob write as a server: want the protocol's refusal of a plaintext file, got %v", err)
		}
		got, err := blobGet(addr, cfg, sha)
		if err != nil || len(got) <= len(data) || bytes.Contains(got, data) {
			t.Fatalf("blob read: %d bytes (want the %d-byte blob's ciphertext), %v", len(got), len(data), err)
		}
	})
}

// peerSerial handshakes with addr as a server of the cluster would and returns the serial of
// the certificate the server presented.
func peerSerial(t *testing.T, addr string, cfg *tls.Config) string {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("handshake with %s: %v", addr, err)
	}
	defer func() { _ = conn.Close() }()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

func fileSerial(t *testing.T, certFile string) string {
	t.Helper()
	certs, err := tlsutil.ReadCerts(certFile)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0].SerialNumber.String()
}

// TestTLSReload: ReloadTLS (SIGHUP) puts a reissued certificate in use on the cluster port and
// the API for new handshakes, without a restart; a pair that cannot be read, or that is not a
// server certificate, is refused and the previous one stays in use.
func TestTLSReload(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{TLS: true})
	s := c.Server(0)
	ct := c.TLS()
	cfg := &tls.Config{RootCAs: ct.CA.Pool(), ServerName: tlsutil.ServerName, MinVersion: tls.VersionTLS12,
		Certificates: []tls.Certificate{ct.KeyPair(t, tlsutil.KindServer, "peer")}}
	raftAddr, httpAddr := s.RaftAddr(), c.Config(0).HTTPAddr
	certFile, keyFile := ct.Files("node0")
	first := fileSerial(t, certFile)
	if got := peerSerial(t, raftAddr, cfg); got != first {
		t.Fatalf("cluster port presents serial %s, want %s", got, first)
	}

	ct.Issue(t, tlsutil.KindServer, "node0")
	second := fileSerial(t, certFile)
	if second == first {
		t.Fatal("the reissued certificate has the old serial")
	}
	if err := s.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{raftAddr, httpAddr} {
		if got := peerSerial(t, a, cfg); got != second {
			t.Fatalf("%s presents serial %s after the reload, want %s", a, got, second)
		}
	}
	// The cluster keeps working on the new certificate.
	if _, err := c.Client(0).AppCreate(context.Background(), api.AppCreateRequest{Name: "after-reload"}); err != nil {
		t.Fatal(err)
	}

	// A client certificate is a valid pair, but not a server certificate: refused.
	pem, key, err := ct.CA.Issue(tlsutil.Request{Kind: tlsutil.KindClient, Name: "not-a-server"})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, certFile, pem)
	writeFile(t, keyFile, key)
	if err := s.ReloadTLS(); err == nil || !strings.Contains(err.Error(), "not a server certificate") {
		t.Fatalf("reload of a client certificate: want a refusal, got %v", err)
	}
	writeFile(t, certFile, []byte("garbage"))
	if err := s.ReloadTLS(); err == nil {
		t.Fatal("reload of garbage succeeded")
	}
	for _, a := range []string{raftAddr, httpAddr} {
		if got := peerSerial(t, a, cfg); got != second {
			t.Fatalf("%s presents serial %s after failed reloads, want %s", a, got, second)
		}
	}
}

func writeFile(t *testing.T, file string, b []byte) {
	t.Helper()
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestTLSRequireClientCert: with tls.require_client_cert the API refuses callers without a
// certificate of the cluster CA, with a message naming the fix, except GET /v1/health and agent
// registration, and host certificates except on the agent routes; plain HTTP to the TLS port
// gets nothing from the API.
func TestTLSRequireClientCert(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{TLS: true, Tweak: func(_ int, cfg *config.Config) { cfg.TLS.RequireClientCert = true }})
	ctx := context.Background()
	ct := c.TLS()
	// c.Client presents a client certificate: the cluster formed and the token works.
	if _, err := c.Client(0).AppCreate(ctx, api.AppCreateRequest{Name: "with-cert"}); err != nil {
		t.Fatal(err)
	}
	noCert := ct.HTTPClientWith()
	other := testutil.NewClusterTLS(t, t.TempDir())
	otherCert := ct.HTTPClientWith(other.KeyPair(t, tlsutil.KindClient, "other"))
	do := func(hc *http.Client, method, path string) (int, string) { // status (0: no answer), body
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, c.URL(0)+path, strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+testutil.ManagementToken)
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := do(noCert, "GET", "/v1/apps")
	if code != http.StatusUnauthorized || !strings.Contains(body, "client certificate") {
		t.Fatalf("no certificate: want 401 naming the client certificate, got %d %s", code, body)
	}
	if code, body := do(noCert, "GET", "/v1/health"); code != http.StatusOK {
		t.Fatalf("health without a certificate: %d %s", code, body)
	}
	if code, body := do(noCert, "POST", "/v1/agent/register"); code == 0 || strings.Contains(body, "client certificate") {
		t.Fatalf("agent registration without a certificate must reach the handler: %d %s", code, body)
	}
	// A certificate of another CA fails verification in the handshake.
	if code, body := do(otherCert, "GET", "/v1/apps"); code != 0 {
		t.Fatalf("certificate of another CA: want a failed handshake, got %d %s", code, body)
	}
	// A host certificate of the cluster CA (anyone with a registration token or a host secret can
	// get one) passes only on the agent routes.
	hostCert := ct.HTTPClientWith(ct.KeyPair(t, tlsutil.KindHost, "h1"))
	if code, body := do(hostCert, "GET", "/v1/apps"); code != http.StatusForbidden || !strings.Contains(body, "only on the agent routes") {
		t.Fatalf("host certificate on /v1/apps: want 403 saying it is for the agent routes, got %d %s", code, body)
	}
	if code, body := do(hostCert, "GET", "/v1/agent/session"); code == 0 || strings.Contains(body, "agent routes") || strings.Contains(body, "client certificate") {
		t.Fatalf("host certificate on the agent session route must pass the gate: %d %s", code, body)
	}
	// Plain HTTP to the TLS port reaches no handler.
	if code, body := do(http.DefaultClient, "GET", "/v1/apps"); code == http.StatusOK {
		t.Fatalf("plain HTTP got %d %s", code, body)
	}
}

// TestTLSCertificateKinds checks what the cluster port's peer check accepts.
func TestTLSCertificateKinds(t *testing.T) {
	ct := testutil.NewClusterTLS(t, t.TempDir())
	for kind, ok := range map[tlsutil.Kind]bool{tlsutil.KindServer: true, tlsutil.KindClient: false, tlsutil.KindCLI: false, tlsutil.KindHost: false} {
		kp := ct.KeyPair(t, kind, "x-"+kind.String())
		leaf, err := x509.ParseCertificate(kp.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		err = tlsutil.VerifyServerPeer(tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}})
		if (err == nil) != ok {
			t.Errorf("%s certificate: accepted=%v, want %v (%v)", kind, err == nil, ok, err)
		}
	}
}
