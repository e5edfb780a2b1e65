package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/pkg/tlsutil"
)

// makeCA runs `slipway tls ca create` into a new folder and returns it.
func makeCA(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tls")
	if r := runWith(t, context.Background(), nil, "tls", "ca", "create", "--out", dir); r.code != ExitOK {
		t.Fatalf("tls ca create: exit %d: %s", r.code, r.stderr)
	}
	return dir
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func TestTLSCACreate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "tls")
	r := runWith(t, context.Background(), nil, "tls", "ca", "create", "--out", dir, "--name", "Acme CA", "--days", "30", "--output", "json")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var res caResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("--output json: %v: %q", err, r.stdout)
	}
	ca, err := tlsutil.LoadCA(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem"))
	if err != nil {
		t.Fatalf("the files written are not a CA and its key: %v", err)
	}
	if res.Pin != ca.Pin() || !strings.HasPrefix(res.Pin, "sha256:") {
		t.Errorf("pin %q, want the CA's %q", res.Pin, ca.Pin())
	}
	if ca.Cert.Subject.CommonName != "Acme CA" || res.Name != "Acme CA" {
		t.Errorf("CA name %q (printed %q), want Acme CA", ca.Cert.Subject.CommonName, res.Name)
	}
	if days := ca.Cert.NotAfter.Sub(ca.Cert.NotBefore).Hours() / 24; days < 29.9 || days > 30.1 {
		t.Errorf("CA valid for %.1f days, want 30", days)
	}
	if m := fileMode(t, filepath.Join(dir, "ca-key.pem")); m != 0o600 {
		t.Errorf("ca-key.pem has mode %o, want 600", m)
	}
	if res.CertFile != filepath.Join(dir, "ca.pem") || res.KeyFile != filepath.Join(dir, "ca-key.pem") {
		t.Errorf("json names %s and %s", res.CertFile, res.KeyFile)
	}

	// The table output says the pin and what to do next.
	dir2 := filepath.Join(t.TempDir(), "tls")
	r = runWith(t, context.Background(), nil, "tls", "ca", "create", "--out", dir2)
	ca2, err := tlsutil.LoadCA(filepath.Join(dir2, "ca.pem"), "")
	if r.code != ExitOK || err != nil {
		t.Fatalf("exit %d: %s (%v)", r.code, r.stderr, err)
	}
	for _, want := range []string{ca2.Pin(), "slipway tls cert create --server --ca " + dir2, "export SLIPWAY_CACERT=" + filepath.Join(dir2, "ca.pem")} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output does not say %q:\n%s", want, r.stdout)
		}
	}

	// A second CA in the same folder is refused, and the first is untouched.
	before, _ := os.ReadFile(filepath.Join(dir, "ca-key.pem"))
	r = runWith(t, context.Background(), nil, "tls", "ca", "create", "--out", dir)
	after, _ := os.ReadFile(filepath.Join(dir, "ca-key.pem"))
	if r.code != ExitFailure || !strings.Contains(r.stderr, "refusing to overwrite") {
		t.Errorf("second ca create: exit %d, stderr %q; want a refusal to overwrite", r.code, r.stderr)
	}
	if string(before) != string(after) {
		t.Error("the CA key was overwritten")
	}
}

func TestTLSCACreateRefusals(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"tls", "ca", "create"}, "--out is required"},
		{[]string{"tls", "ca", "create", "--out", t.TempDir(), "--days", "0"}, "invalid --days 0"},
		{[]string{"tls", "ca", "create", "--out", t.TempDir(), "--output", "yaml"}, "want table or json"},
	} {
		r := runWith(t, context.Background(), nil, tt.args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 saying %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
}

func TestTLSCertCreate(t *testing.T) {
	t.Parallel()
	caDir := makeCA(t)
	ca, err := tlsutil.LoadCA(filepath.Join(caDir, "ca.pem"), "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args      []string
		usage     x509.ExtKeyUsage
		wantDNS   []string
		wantIPs   []string
		isServer  bool
		verifyFor string // a name the certificate must verify for, as a server
	}{
		{
			name: "server-1", args: []string{"--server", "--dns", "s1.example.com", "--ip", "10.0.0.1", "--ip", "fd00::1"},
			usage:   x509.ExtKeyUsageServerAuth,
			wantDNS: []string{tlsutil.ServerName, "localhost", "s1.example.com"}, wantIPs: []string{"127.0.0.1", "::1", "10.0.0.1", "fd00::1"},
			isServer: true, verifyFor: "10.0.0.1",
		},
		{name: "plain-server", args: []string{"--server"}, usage: x509.ExtKeyUsageServerAuth,
			wantDNS: []string{tlsutil.ServerName, "localhost"}, wantIPs: []string{"127.0.0.1", "::1"}, isServer: true, verifyFor: tlsutil.ServerName},
		{name: "ci", args: []string{"--client"}, usage: x509.ExtKeyUsageClientAuth, wantDNS: []string{tlsutil.ClientName}, wantIPs: []string{}},
		{name: "alice", args: []string{"--cli"}, usage: x509.ExtKeyUsageClientAuth, wantDNS: []string{tlsutil.CLIName}, wantIPs: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			args := append([]string{"tls", "cert", "create", "--ca", caDir, "--name", tt.name, "--out", out, "--output", "json"}, tt.args...)
			r := runWith(t, context.Background(), nil, args...)
			if r.code != ExitOK {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var res certResult
			if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
				t.Fatalf("--output json: %v: %q", err, r.stdout)
			}
			certFile, keyFile := filepath.Join(out, tt.name+".pem"), filepath.Join(out, tt.name+"-key.pem")
			if res.CertFile != certFile || res.KeyFile != keyFile {
				t.Errorf("json names %s and %s, want %s and %s", res.CertFile, res.KeyFile, certFile, keyFile)
			}
			if m := fileMode(t, keyFile); m != 0o600 {
				t.Errorf("key has mode %o, want 600", m)
			}
			pair, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				t.Fatalf("certificate and key do not match: %v", err)
			}
			cert, err := x509.ParseCertificate(pair.Certificate[0])
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{tt.usage}}); err != nil {
				t.Errorf("not a valid %v certificate of the CA: %v", tt.usage, err)
			}
			var ips []string
			for _, ip := range cert.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(cert.DNSNames, tt.wantDNS) || !slices.Equal(append([]string{}, ips...), tt.wantIPs) {
				t.Errorf("names %v %v, want %v %v", cert.DNSNames, ips, tt.wantDNS, tt.wantIPs)
			}
			if !slices.Equal(res.DNSNames, tt.wantDNS) || !slices.Equal(res.IPAddresses, tt.wantIPs) {
				t.Errorf("printed names %v %v, want %v %v", res.DNSNames, res.IPAddresses, tt.wantDNS, tt.wantIPs)
			}
			if got := tlsutil.IsServer(cert); got != tt.isServer {
				t.Errorf("IsServer = %v, want %v", got, tt.isServer)
			}
			if tt.verifyFor != "" {
				if err := cert.VerifyHostname(tt.verifyFor); err != nil {
					t.Errorf("server certificate not valid for %s: %v", tt.verifyFor, err)
				}
			}
		})
	}
}

func TestTLSCertCreateRefusals(t *testing.T) {
	t.Parallel()
	caDir := makeCA(t)
	out := t.TempDir()
	base := func(extra ...string) []string {
		return append([]string{"tls", "cert", "create", "--ca", caDir, "--out", out}, extra...)
	}
	// An existing certificate, to refuse overwriting.
	if r := runWith(t, context.Background(), nil, base("--server", "--name", "s1")...); r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	s1Before, _ := os.ReadFile(filepath.Join(out, "s1-key.pem"))
	keyless := t.TempDir()
	caPEM, _ := os.ReadFile(filepath.Join(caDir, "ca.pem"))
	if err := os.WriteFile(filepath.Join(keyless, "ca.pem"), caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"both server and client", base("--server", "--client", "--name", "x"), ExitUsage, "--server and --client cannot be combined"},
		{"all three", base("--server", "--client", "--cli", "--name", "x"), ExitUsage, "--server and --client and --cli cannot be combined"},
		{"no kind", base("--name", "x"), ExitUsage, "one of --server, --client or --cli"},
		{"missing --ca", []string{"tls", "cert", "create", "--server", "--name", "x", "--out", out}, ExitUsage, "--ca is required"},
		{"missing --out", []string{"tls", "cert", "create", "--server", "--name", "x", "--ca", caDir}, ExitUsage, "--out is required"},
		{"missing --name", base("--server"), ExitUsage, "--name is required"},
		{"name with a path", base("--server", "--name", "../x"), ExitUsage, `invalid --name "../x"`},
		{"bad --ip", base("--server", "--name", "x", "--ip", "10.0.0.256"), ExitUsage, `invalid --ip "10.0.0.256"`},
		{"host name as --ip", base("--server", "--name", "x", "--ip", "s1.example.com"), ExitUsage, `invalid --ip "s1.example.com"`},
		{"bad --dns", base("--server", "--name", "x", "--dns", "http://s1"), ExitUsage, `invalid --dns "http://s1"`},
		{"--ip on a CLI certificate", base("--cli", "--name", "x", "--ip", "10.0.0.1"), ExitUsage, "--dns and --ip are for --server certificates only"},
		{"--days 0", base("--cli", "--name", "x", "--days", "0"), ExitUsage, "invalid --days 0"},
		{"--ca without a CA", base("--server", "--name", "x", "--ca", t.TempDir()), ExitFailure, "load the CA from --ca"},
		{"--ca without the key", []string{"tls", "cert", "create", "--server", "--name", "x", "--ca", keyless, "--out", out}, ExitFailure, "ca-key.pem"},
		{"overwrite", base("--client", "--name", "s1"), ExitFailure, "s1.pem exists: refusing to overwrite it"},
	}
	for _, tt := range tests {
		r := runWith(t, context.Background(), nil, tt.args...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d saying %q", tt.name, r.code, r.stderr, tt.code, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "x.pem")); err == nil {
		t.Error("a refused command wrote x.pem")
	}
	if after, _ := os.ReadFile(filepath.Join(out, "s1-key.pem")); string(after) != string(s1Before) {
		t.Error("s1's key was overwritten")
	}
}

// tlsAPI is the fake API served over TLS with a server certificate of a fresh CA made by the
// CLI itself; with clientCerts, the server requires a client certificate of that CA.
type tlsAPI struct {
	*fakeAPI
	caDir           string
	caFile          string
	cliCert, cliKey string
	otherCertDir    string // a CLI certificate of another CA: other.pem, other-key.pem
}

func newTLSAPI(t *testing.T, clientCerts bool) *tlsAPI {
	t.Helper()
	a := &tlsAPI{caDir: makeCA(t)}
	a.caFile = filepath.Join(a.caDir, "ca.pem")
	for _, args := range [][]string{
		{"tls", "cert", "create", "--server", "--ca", a.caDir, "--name", "server", "--out", a.caDir},
		{"tls", "cert", "create", "--cli", "--ca", a.caDir, "--name", "alice", "--out", a.caDir},
	} {
		if r := runWith(t, context.Background(), nil, args...); r.code != ExitOK {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
	}
	other := makeCA(t)
	if r := runWith(t, context.Background(), nil, "tls", "cert", "create", "--cli", "--ca", other, "--name", "other", "--out", other); r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	a.otherCertDir = other
	a.cliCert, a.cliKey = filepath.Join(a.caDir, "alice.pem"), filepath.Join(a.caDir, "alice-key.pem")
	pair, err := tls.LoadX509KeyPair(filepath.Join(a.caDir, "server.pem"), filepath.Join(a.caDir, "server-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	if clientCerts {
		pool, err := tlsutil.CertPool(a.caFile)
		if err != nil {
			t.Fatal(err)
		}
		cfg.ClientAuth, cfg.ClientCAs = tls.RequireAndVerifyClientCert, pool
	}
	a.fakeAPI = newFakeAPIWith(t, cfg)
	return a
}

func TestTLSGlobalFlags(t *testing.T) {
	t.Parallel()
	srv := newTLSAPI(t, false)
	mtls := newTLSAPI(t, true)
	appGet := func(a *tlsAPI, extra ...string) []string {
		return append([]string{"--addr", a.srv.URL, "--token", testToken, "app", "get", "web"}, extra...)
	}
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		code       int
		stderrHas  []string
		noStderr   bool // stderr must be empty
		wantWarned bool
	}{
		{name: "unknown CA refused", args: appGet(srv), code: ExitFailure,
			stderrHas: []string{"its certificate is not signed by a CA this client trusts", "--ca-file or SLIPWAY_CACERT"}},
		{name: "--ca-file accepted", args: appGet(srv, "--ca-file", srv.caFile), noStderr: true},
		{name: "SLIPWAY_CACERT accepted", env: map[string]string{EnvCACert: srv.caFile}, args: appGet(srv), noStderr: true},
		{name: "another cluster's CA refused", args: appGet(srv, "--ca-file", filepath.Join(mtls.caDir, "ca.pem")), code: ExitFailure,
			stderrHas: []string{"not signed by a CA this client trusts"}},
		{name: "--tls-skip-verify works and warns", args: appGet(srv, "--tls-skip-verify"), wantWarned: true},
		{name: "SLIPWAY_TLS_SKIP_VERIFY works and warns", env: map[string]string{EnvTLSSkipVerify: "true"}, args: appGet(srv), wantWarned: true},
		{name: "bad SLIPWAY_TLS_SKIP_VERIFY", env: map[string]string{EnvTLSSkipVerify: "maybe"}, args: appGet(srv), code: ExitUsage,
			stderrHas: []string{`invalid SLIPWAY_TLS_SKIP_VERIFY "maybe"`}},
		{name: "missing CA file", args: appGet(srv, "--ca-file", filepath.Join(t.TempDir(), "nope.pem")), code: ExitUsage,
			stderrHas: []string{"--ca-file: cannot use"}},
		{name: "client certificate required and missing", args: appGet(mtls, "--ca-file", mtls.caFile), code: ExitFailure,
			stderrHas: []string{"refused this client's certificate", "--client-cert and --client-key"}},
		{name: "client certificate of another CA refused", code: ExitFailure,
			args: appGet(mtls, "--ca-file", mtls.caFile, "--client-cert", filepath.Join(mtls.otherCertDir, "other.pem"),
				"--client-key", filepath.Join(mtls.otherCertDir, "other-key.pem")),
			stderrHas: []string{"refused this client's certificate"}},
		{name: "--client-cert and --client-key accepted", args: appGet(mtls, "--ca-file", mtls.caFile, "--client-cert", mtls.cliCert, "--client-key", mtls.cliKey), noStderr: true},
		{name: "client certificate from the environment", args: appGet(mtls), noStderr: true,
			env: map[string]string{EnvCACert: mtls.caFile, EnvClientCert: mtls.cliCert, EnvClientKey: mtls.cliKey}},
		{name: "--client-cert without --client-key", args: appGet(mtls, "--ca-file", mtls.caFile, "--client-cert", mtls.cliCert), code: ExitUsage,
			stderrHas: []string{"--client-cert is set but --client-key or SLIPWAY_CLIENT_KEY is not"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runWith(t, context.Background(), tt.env, tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %q", r.code, tt.code, r.stderr)
			}
			if tt.code == ExitOK && !strings.Contains(r.stdout, "web") {
				t.Errorf("stdout %q does not show the app", r.stdout)
			}
			for _, s := range tt.stderrHas {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr %q does not say %q", r.stderr, s)
				}
			}
			if tt.code != ExitOK && strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("the error is not one line: %q", r.stderr)
			}
			if tt.noStderr && r.stderr != "" {
				t.Errorf("stderr %q, want nothing", r.stderr)
			}
			warned := strings.Contains(r.stderr, "WARNING: TLS certificate verification is OFF") &&
				strings.Contains(r.stderr, "can intercept this connection") && strings.Contains(r.stderr, "steal your token")
			if warned != tt.wantWarned {
				t.Errorf("warned = %v, want %v; stderr %q", warned, tt.wantWarned, r.stderr)
			}
		})
	}
}

func TestTLSEventsWebsocket(t *testing.T) {
	t.Parallel()
	srv := newTLSAPI(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The one event printed: end the stream as Ctrl-C would. (Cancelling once the server had sent
	// it raced the client's printing it.)
	out := &untilWriter{want: `"resource":"web"`, then: cancel}
	var errb bytes.Buffer
	env := map[string]string{EnvCACert: srv.caFile, EnvClientCert: srv.cliCert, EnvClientKey: srv.cliKey}
	code := run(ctx, []string{"--addr", srv.srv.URL, "--token", testToken, "events", "--output", "json"},
		Options{Stdout: out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	if !strings.Contains(out.String(), `"resource":"web"`) {
		t.Fatalf("events over wss with the CA and a client certificate: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	r := runWith(t, context.Background(), map[string]string{EnvCACert: srv.caFile},
		"--addr", srv.srv.URL, "--token", testToken, "events")
	if r.code != ExitFailure || !strings.Contains(r.stderr, "--client-cert and --client-key") {
		t.Errorf("events without a client certificate: exit %d, stderr %q; want the client certificate refusal", r.code, r.stderr)
	}
}

func TestExplainClientCertificateRefusal(t *testing.T) {
	t.Parallel()
	c := &cli{root: &cobra.Command{}, getenv: func(string) string { return "" }}
	c.root.PersistentFlags().String("token", "", "")
	msg := "this server requires a client certificate of the cluster CA (tls.require_client_cert): give --client-cert and --client-key"
	if got := c.explain(&api.Error{Status: 401, Code: api.CodeUnauthorized, Message: msg}); got != msg {
		t.Errorf("explain = %q, want the server's message alone (no token advice): %q", got, msg)
	}
	if got := c.explain(&api.Error{Status: 401, Code: api.CodeUnauthorized, Message: "missing token"}); !strings.Contains(got, "no token given") {
		t.Errorf("explain of a token refusal = %q, want the token advice", got)
	}
}

// TestTLSSettingsAndPlainAddresses: with a TLS setting, a scheme-less address means https://, and
// an http:// address to a host that is not loopback is a usage error naming the settings, before
// any token is sent.
func TestTLSSettingsAndPlainAddresses(t *testing.T) {
	t.Parallel()
	srv := newTLSAPI(t, false)
	r := runWith(t, context.Background(), nil, "--addr", strings.TrimPrefix(srv.srv.URL, "https://"), "--ca-file", srv.caFile, "--token", testToken, "app", "get", "web")
	if r.code != ExitOK || !strings.Contains(r.stdout, "web") {
		t.Fatalf("scheme-less address with --ca-file: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		says []string
	}{
		{"flags", nil, []string{"--addr", "http://10.0.0.5:7400", "--ca-file", srv.caFile}, []string{"--addr: ", "--ca-file", "https://", "unencrypted"}},
		{"environment", map[string]string{EnvAddr: "http://slipway.example.com:7400", EnvCACert: srv.caFile}, nil, []string{EnvAddr + ": ", EnvCACert, "https://"}},
	} {
		r := runWith(t, context.Background(), tc.env, append(tc.args, "--token", testToken, "app", "get", "web")...)
		if r.code != ExitUsage {
			t.Errorf("%s: exit %d, want %d; stderr %q", tc.name, r.code, ExitUsage, r.stderr)
		}
		for _, s := range tc.says {
			if !strings.Contains(r.stderr, s) {
				t.Errorf("%s: stderr %q does not say %q", tc.name, r.stderr, s)
			}
		}
	}
}

// untilWriter collects output and calls then once the output contains want.
type untilWriter struct {
	want string
	then func()

	mu   sync.Mutex
	buf  bytes.Buffer
	done bool
}

func (w *untilWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if !w.done && strings.Contains(w.buf.String(), w.want) {
		w.done = true
		w.then()
	}
	return n, err
}

func (w *untilWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
