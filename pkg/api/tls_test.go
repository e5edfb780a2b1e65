package api

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/slipwayhq/slipway/pkg/tlsutil"
)

// tlsFixture is a cluster CA with its certificate in a file, as a user of the client has it.
type tlsFixture struct {
	ca     *tlsutil.CA
	caFile string
	dir    string
}

func newTLSFixture(t *testing.T) *tlsFixture {
	t.Helper()
	ca, err := tlsutil.NewCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ca.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	return &tlsFixture{ca: ca, caFile: filepath.Join(dir, "ca.pem"), dir: dir}
}

// keyPair issues a certificate of kind and returns it loaded.
func (f *tlsFixture) keyPair(t *testing.T, kind tlsutil.Kind, name string) tls.Certificate {
	t.Helper()
	certPEM, keyPEM, err := f.ca.Issue(tlsutil.Request{Kind: kind, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// files issues a certificate of kind into the fixture's folder and returns its file names.
func (f *tlsFixture) files(t *testing.T, kind tlsutil.Kind, name string) (certFile, keyFile string) {
	t.Helper()
	if err := f.ca.IssueFiles(tlsutil.Request{Kind: kind, Name: name}, f.dir, name); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(f.dir, name+".pem"), filepath.Join(f.dir, name+"-key.pem")
}

// expiredKeyPair makes a server certificate of the fixture's CA that expired an hour ago.
func (f *tlsFixture) expiredKeyPair(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := tlsutil.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "expired"},
		NotBefore:    time.Now().Add(-2 * time.Hour),
		NotAfter:     time.Now().Add(-time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.ca.Cert, key.Public(), f.ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := tlsutil.EncodeKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tlsServer serves a small API over TLS with cert; clientCAs, when set, requires a client
// certificate signed by it. It counts the requests that reached the handler.
type tlsServer struct {
	*httptest.Server
	requests atomic.Int32
}

func newTLSServer(t *testing.T, cert tls.Certificate, clientCAs *x509.CertPool) *tlsServer {
	t.Helper()
	s := &tlsServer{}
	up := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/apps/", func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"name":"web"}`))
	})
	mux.HandleFunc("/v1/apps", func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"name":"web"}`))
	})
	mux.HandleFunc("/v1/events", func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer func() { _ = ws.Close() }()
		_ = ws.WriteJSON(Event{Index: 9, Kind: "app", Op: "create", Resource: "web"})
		_, _, _ = ws.ReadMessage() // until the client goes
	})
	s.Server = httptest.NewUnstartedServer(mux)
	s.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCAs != nil {
		s.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		s.TLS.ClientCAs = clientCAs
	}
	s.Config.ErrorLog = discardLog()
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func clientFor(t *testing.T, addr string, o tlsutil.ClientOptions) *Client {
	t.Helper()
	cfg, err := tlsutil.ClientConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(Config{Address: addr, TLS: cfg, RetryFor: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTLSServerVerification(t *testing.T) {
	t.Parallel()
	fx := newTLSFixture(t)
	other := newTLSFixture(t)
	good := fx.keyPair(t, tlsutil.KindServer, "s1")
	expired := fx.expiredKeyPair(t)

	tests := []struct {
		name       string
		srv        tls.Certificate // each subtest has a server of its own with it, to count its requests
		opts       tlsutil.ClientOptions
		serverName string // overrides the name verified
		wantReason string // "" for success
		wantMsg    []string
	}{
		{name: "CA file accepted", srv: good, opts: tlsutil.ClientOptions{CAFile: fx.caFile}},
		{name: "unknown CA refused", srv: good, wantReason: TLSUnknownAuthority,
			wantMsg: []string{"not signed by a CA this client trusts", "--ca-file", "SLIPWAY_CACERT"}},
		{name: "another cluster's CA refused", srv: good, opts: tlsutil.ClientOptions{CAFile: other.caFile}, wantReason: TLSUnknownAuthority,
			wantMsg: []string{"--ca-file or SLIPWAY_CACERT"}},
		{name: "hostname mismatch refused", srv: good, opts: tlsutil.ClientOptions{CAFile: fx.caFile}, serverName: "db.example.com",
			wantReason: TLSHostname, wantMsg: []string{`not valid for`, "server.slipway", "--ip or --dns"}},
		{name: "expired certificate refused", srv: expired, opts: tlsutil.ClientOptions{CAFile: fx.caFile}, wantReason: TLSExpired,
			wantMsg: []string{"has expired or is not valid yet", "valid from"}},
		{name: "skip verify accepts an unknown CA", srv: good, opts: tlsutil.ClientOptions{SkipVerify: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := tlsutil.ClientConfig(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			cfg.ServerName = tt.serverName
			srv := newTLSServer(t, tt.srv, nil)
			c, err := NewClient(Config{Address: srv.URL, TLS: cfg, RetryFor: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.AppCreate(context.Background(), AppCreateRequest{Name: "web"})
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("AppCreate over TLS: %v", err)
				}
				return
			}
			var te *TLSError
			if !errors.As(err, &te) || te.Reason != tt.wantReason {
				t.Fatalf("err = %v, want a TLSError %s", err, tt.wantReason)
			}
			for _, m := range tt.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message %q does not say %q", err, m)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("message is not one line: %q", err)
			}
			if n := srv.requests.Load(); n != 0 {
				t.Errorf("%d requests reached the server through a refused handshake", n)
			}
			if Indeterminate(err) {
				t.Errorf("Indeterminate(%v) = true: a refused handshake sent nothing", err)
			}
		})
	}
}

func TestTLSHandshakeFailureIsNotRetried(t *testing.T) {
	t.Parallel()
	fx := newTLSFixture(t)
	var handshakes atomic.Int32
	srv := newTLSServer(t, fx.keyPair(t, tlsutil.KindServer, "s1"), nil)
	srv.TLS.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		handshakes.Add(1)
		return nil, nil
	}
	c, err := NewClient(Config{Address: srv.URL, RetryFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AppGet(context.Background(), "web", nil); err == nil {
		t.Fatal("an unverifiable server was accepted")
	}
	if n := handshakes.Load(); n != 1 {
		t.Errorf("%d handshakes, want 1: a certificate refusal must not be retried", n)
	}
}

func TestTLSClientCertificate(t *testing.T) {
	t.Parallel()
	fx := newTLSFixture(t)
	other := newTLSFixture(t)
	srv := newTLSServer(t, fx.keyPair(t, tlsutil.KindServer, "s1"), fx.ca.Pool())
	cliCert, cliKey := fx.files(t, tlsutil.KindCLI, "cli")
	otherCert, otherKey := other.files(t, tlsutil.KindCLI, "cli")

	t.Run("with the cluster's CLI certificate", func(t *testing.T) {
		c := clientFor(t, srv.URL, tlsutil.ClientOptions{CAFile: fx.caFile, CertFile: cliCert, KeyFile: cliKey})
		if _, err := c.AppGet(context.Background(), "web", nil); err != nil {
			t.Fatalf("AppGet with a client certificate: %v", err)
		}
	})
	for name, o := range map[string]tlsutil.ClientOptions{
		"without a certificate":              {CAFile: fx.caFile},
		"with another cluster's certificate": {CAFile: fx.caFile, CertFile: otherCert, KeyFile: otherKey},
	} {
		t.Run(name, func(t *testing.T) {
			c := clientFor(t, srv.URL, o)
			before := srv.requests.Load()
			_, err := c.AppGet(context.Background(), "web", nil)
			var te *TLSError
			if !errors.As(err, &te) || te.Reason != TLSClientCertRequired {
				t.Fatalf("err = %v, want a TLSError %s", err, TLSClientCertRequired)
			}
			if !strings.Contains(err.Error(), "--client-cert and --client-key") {
				t.Errorf("message %q does not name --client-cert and --client-key", err)
			}
			if n := srv.requests.Load() - before; n != 0 {
				t.Errorf("%d requests reached the server", n)
			}
		})
	}
}

func TestTLSWebsocketUsesTheClientsConfig(t *testing.T) {
	t.Parallel()
	fx := newTLSFixture(t)
	srv := newTLSServer(t, fx.keyPair(t, tlsutil.KindServer, "s1"), fx.ca.Pool())
	cliCert, cliKey := fx.files(t, tlsutil.KindCLI, "cli")

	c := clientFor(t, srv.URL, tlsutil.ClientOptions{CAFile: fx.caFile, CertFile: cliCert, KeyFile: cliKey})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stop := errors.New("got one")
	var got Event
	err := c.Events(ctx, nil, "", func(e Event) error { got = e; return stop })
	if !errors.Is(err, stop) || got.Resource != "web" {
		t.Fatalf("Events over wss with the CA and a client certificate: %v (event %+v)", err, got)
	}

	plain, err := NewClient(Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	err = plain.Events(ctx, nil, "", func(Event) error { return nil })
	var te *TLSError
	if !errors.As(err, &te) || te.Reason != TLSUnknownAuthority {
		t.Fatalf("Events without the CA: err = %v, want a TLSError %s", err, TLSUnknownAuthority)
	}
}

func TestSchemeMismatch(t *testing.T) {
	t.Parallel()
	fx := newTLSFixture(t)
	tlsSrv := newTLSServer(t, fx.keyPair(t, tlsutil.KindServer, "s1"), nil)
	plainSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"name":"web"}`))
	}))
	t.Cleanup(plainSrv.Close)

	httpToTLS, err := NewClient(Config{Address: strings.Replace(tlsSrv.URL, "https://", "http://", 1), RetryFor: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := httpToTLS.AppGet(context.Background(), "web", nil); err == nil || !strings.Contains(err.Error(), "use an https:// address") {
		t.Errorf("http:// to a TLS server: err = %v, want advice to use https://", err)
	}

	tlsToHTTP := clientFor(t, strings.Replace(plainSrv.URL, "http://", "https://", 1), tlsutil.ClientOptions{CAFile: fx.caFile})
	_, err = tlsToHTTP.AppGet(context.Background(), "web", nil)
	var te *TLSError
	if !errors.As(err, &te) || te.Reason != TLSNotTLS || !strings.Contains(err.Error(), "use an http:// address") {
		t.Errorf("https:// to a plain server: err = %v, want a TLSError %s", err, TLSNotTLS)
	}
}

func TestClassifyTLSLeavesOtherErrorsAlone(t *testing.T) {
	t.Parallel()
	for _, err := range []error{errors.New("connection reset by peer"), context.DeadlineExceeded, errors.New("net/http: TLS handshake timeout")} {
		if te := classifyTLS("h:1", err); te != nil {
			t.Errorf("classifyTLS(%v) = %v, want nil", err, te)
		}
	}
}

func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }

// TestAddressWithTLSSettings: with a TLS configuration, an address without a scheme means
// https://, and an http:// address to a host that is not loopback is refused before anything is
// sent (the token would travel in clear); without one, nothing changes.
func TestAddressWithTLSSettings(t *testing.T) {
	t.Parallel()
	fx := newTLSFixture(t)
	srv := newTLSServer(t, fx.keyPair(t, tlsutil.KindServer, "s1"), nil)
	bare := strings.TrimPrefix(srv.URL, "https://")
	c := clientFor(t, bare, tlsutil.ClientOptions{CAFile: fx.caFile})
	if !strings.HasPrefix(c.Address(), "https://") {
		t.Fatalf("%s with TLS settings became %s, want https://", bare, c.Address())
	}
	if _, err := c.AppGet(context.Background(), "web", nil); err != nil {
		t.Fatalf("a scheme-less address with a CA did not reach the TLS server: %v", err)
	}
	withTLS := &tls.Config{MinVersion: tls.VersionTLS12}
	for _, tc := range []struct {
		addr    string
		tls     *tls.Config
		want    string // the client's address; "" refused
		refused bool
	}{
		{"10.0.0.5:7400", nil, "http://10.0.0.5:7400", false},
		{"http://10.0.0.5:7400", nil, "http://10.0.0.5:7400", false},
		{"10.0.0.5:7400", withTLS, "https://10.0.0.5:7400", false},
		{"http://10.0.0.5:7400", withTLS, "", true},
		{"http://slipway.example.com:7400", withTLS, "", true},
		{"http://0.0.0.0:7400", withTLS, "", true},
		{"http://127.0.0.1:7400", withTLS, "http://127.0.0.1:7400", false},
		{"http://localhost:7400", withTLS, "http://localhost:7400", false},
		{"http://[::1]:7400", withTLS, "http://[::1]:7400", false},
	} {
		c, err := NewClient(Config{Address: tc.addr, TLS: tc.tls})
		if tc.refused {
			if !errors.Is(err, ErrPlainHTTPWithTLS) || !strings.Contains(err.Error(), "https://") || !strings.Contains(err.Error(), "unencrypted") {
				t.Errorf("%s with TLS: err = %v, want ErrPlainHTTPWithTLS advising https://", tc.addr, err)
			}
			continue
		}
		if err != nil || c.Address() != tc.want {
			t.Errorf("%s (TLS %v): %v %v, want %s", tc.addr, tc.tls != nil, c, err, tc.want)
		}
	}
}
