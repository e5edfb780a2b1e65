package session

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/tlsutil"
)

// tlsServer serves 200 over TLS with a server certificate of ca; withCA appends the CA to the
// chain, as Slipway servers do.
func tlsServer(t *testing.T, ca *tlsutil.CA, withCA bool) *httptest.Server {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(tlsutil.Request{Kind: tlsutil.KindServer, Name: "srv"})
	if err != nil {
		t.Fatal(err)
	}
	if withCA {
		certPEM = append(certPEM, ca.CertPEM()...)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func newCA(t *testing.T) *tlsutil.CA {
	t.Helper()
	ca, err := tlsutil.NewCA("", 0)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func get(t *testing.T, tr *Trust, url string) error {
	t.Helper()
	hc := NewFetchClient(tr.ClientConfig(func() *tls.Certificate { return nil }))
	resp, err := hc.Get(url)
	if err == nil {
		_ = resp.Body.Close()
		tr.Confirm(resp.TLS) // as registration, renewal, sessions and downloads do
	}
	return err
}

func TestTrustLearnsTheCAFromThePinAndKeepsIt(t *testing.T) {
	ca := newCA(t)
	srv := tlsServer(t, ca, true)
	dir := t.TempDir()
	tr, err := NewTrust(ca.Pin(), "", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Roots() != nil || !tr.Enabled() {
		t.Fatal("a pin alone must enable TLS without roots")
	}
	if err := get(t, tr, srv.URL); err != nil {
		t.Fatalf("pinned server refused: %v", err)
	}
	st, err := os.Stat(filepath.Join(dir, CAFile))
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("saved CA: %v %v", st, err)
	}
	// The next start trusts the saved CA without a pin, and a server of another CA fails.
	again, err := NewTrust("", "", dir, nil)
	if err != nil || again.Roots() == nil {
		t.Fatalf("saved CA not loaded: %v", err)
	}
	if err := get(t, again, srv.URL); err != nil {
		t.Fatalf("server refused with the saved CA: %v", err)
	}
	var ue *UntrustedServerError
	if err := get(t, again, tlsServer(t, newCA(t), true).URL); !errors.As(err, &ue) || !strings.Contains(err.Error(), "not a server certificate of this cluster's CA") {
		t.Fatalf("another CA's server with the saved CA: %v", err)
	}
	// A pin that the saved CA does not match makes the agent learn the CA again.
	other := newCA(t)
	re, err := NewTrust(other.Pin(), "", dir, nil)
	if err != nil || re.Roots() != nil {
		t.Fatalf("saved CA kept despite another pin: %v", err)
	}
}

func TestTrustRefusesWrongPinAndChainsWithoutTheCA(t *testing.T) {
	ca := newCA(t)
	tr, err := NewTrust(newCA(t).Pin(), "", t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var ue *UntrustedServerError
	err = get(t, tr, tlsServer(t, ca, true).URL)
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "no CA with pin") || !strings.Contains(err.Error(), "nothing was sent") {
		t.Fatalf("wrong pin: %v", err)
	}
	tr, _ = NewTrust(ca.Pin(), "", t.TempDir(), nil)
	if err := get(t, tr, tlsServer(t, ca, false).URL); !errors.As(err, &ue) {
		t.Fatalf("chain without the CA accepted with only a pin: %v", err)
	}
	if tr.Roots() != nil {
		t.Fatal("a CA was learnt from a refused handshake")
	}
}

func TestTrustCAFile(t *testing.T) {
	ca := newCA(t)
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrust("", file, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// A server that does not send its CA is fine when the agent has the file.
	if err := get(t, tr, tlsServer(t, ca, false).URL); err != nil {
		t.Fatal(err)
	}
	if _, err := NewTrust(newCA(t).Pin(), file, t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "does not hold the CA with pin") {
		t.Fatalf("ca_file and a pin of another CA: %v", err)
	}
}

func TestCheckURL(t *testing.T) {
	plain, _ := NewTrust("", "", t.TempDir(), nil)
	pinned, _ := NewTrust(newCA(t).Pin(), "", t.TempDir(), nil)
	for _, tc := range []struct {
		tr   *Trust
		url  string
		want string // "" accepted
	}{
		{plain, "http://a:7400", ""},
		{plain, "https://a:7400", "--ca-pin"},
		{pinned, "https://a:7400", ""},
		{pinned, "http://a:7400", "will not send its secrets unencrypted"},
	} {
		err := tc.tr.CheckURL(tc.url)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckURL(%s) pinned=%v: %v, want %q", tc.url, tc.tr == pinned, err, tc.want)
		}
	}
}

func TestHostCert(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	h, err := LoadHostCert(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, HostKeyFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("host key: %v %v", st, err)
	}
	if h.Current() != nil || !h.RenewAt().IsZero() {
		t.Fatal("a new agent has no certificate and is due at once")
	}
	csr, err := h.CSR("h1")
	if err != nil {
		t.Fatal(err)
	}
	sign := func(id string, d time.Duration) []byte {
		c, err := ca.SignHostCSR([]byte(csr), id, d)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if err := h.Set(sign("h2", time.Hour), "h1", ca.Pool(), nil); err == nil || !strings.Contains(err.Error(), "not this host") {
		t.Fatalf("certificate of another host accepted: %v", err)
	}
	other, _ := LoadHostCert(t.TempDir(), nil)
	otherCSR, _ := other.CSR("h1")
	foreign, _ := ca.SignHostCSR([]byte(otherCSR), "h1", time.Hour)
	if err := h.Set(foreign, "h1", ca.Pool(), nil); err == nil || !strings.Contains(err.Error(), "not for this agent's key") {
		t.Fatalf("certificate of another key accepted: %v", err)
	}
	if err := h.Set(sign("h1", time.Hour), "h1", newCA(t).Pool(), nil); err == nil || !strings.Contains(err.Error(), "not signed by the cluster CA") {
		t.Fatalf("certificate of another CA accepted: %v", err)
	}
	now := time.Now()
	h.now = func() time.Time { return now }
	if err := h.Set(sign("h1", 3*time.Hour), "h1", ca.Pool(), nil); err != nil {
		t.Fatal(err)
	}
	if due := h.RenewAt().Sub(now); due < 119*time.Minute || due > 121*time.Minute {
		t.Fatalf("a 3 h certificate is due in %s, want 2 h (two thirds from receipt)", due)
	}
	if h.Current() == nil {
		t.Fatal("valid certificate not current")
	}
	h.now = func() time.Time { return now.Add(4 * time.Hour) }
	if h.Current() != nil {
		t.Fatal("an expired certificate is presented (the server would refuse the handshake)")
	}
	// A restart loads the certificate for the same key.
	back, err := LoadHostCert(dir, nil)
	if err != nil || back.Leaf() == nil || back.Leaf().SerialNumber.Cmp(h.Leaf().SerialNumber) != 0 {
		t.Fatalf("reloaded host certificate: %v", err)
	}
}

// mitmServer presents the chain a man in the middle can copy from a real server (the real
// server certificate, then caCert) but signs the handshake with its own key, since it does not
// have the server's.
func mitmServer(t *testing.T, real *tlsutil.CA, caCert *x509.Certificate) *httptest.Server {
	t.Helper()
	certPEM, _, err := real.Issue(tlsutil.Request{Kind: tlsutil.KindServer, Name: "srv"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := tlsutil.ParseCerts(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	key, err := tlsutil.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leaf[0].Raw, caCert.Raw}, PrivateKey: key}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// forgeCA makes a CA certificate with ca's subject and public key (so its pin), valid until
// notAfter, signed by another key: what anyone can make without the CA key.
func forgeCA(t *testing.T, ca *tlsutil.CA, notAfter time.Time) *x509.Certificate {
	t.Helper()
	key, err := tlsutil.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(666), Subject: ca.Cert.Subject,
		NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true, IsCA: true, SubjectKeyId: ca.Cert.SubjectKeyId,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, ca.Cert.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if tlsutil.Pin(c) != ca.Pin() {
		t.Fatal("the forged CA does not carry the pinned key")
	}
	return c
}

// TestTrustLearnsNothingFromAFailedHandshake: at first contact, a man in the middle replaying a
// real server's certificate (it lacks the key) with the real CA certificate, or with a forged CA
// certificate carrying the real key, fails the handshake and leaves nothing trusted or saved; the
// real server is then learnt and saved.
func TestTrustLearnsNothingFromAFailedHandshake(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	tr, err := NewTrust(ca.Pin(), "", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, caCert := range map[string]*x509.Certificate{
		"real CA":   ca.Cert,
		"forged CA": forgeCA(t, ca, time.Now().Add(time.Hour)),
	} {
		if err := get(t, tr, mitmServer(t, ca, caCert).URL); err == nil {
			t.Fatalf("%s: a server without the key of its certificate was accepted", name)
		}
		if _, err := os.Stat(filepath.Join(dir, CAFile)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s: a CA was saved from a failed handshake (%v)", name, err)
		}
		if tr.Roots() != nil {
			t.Fatalf("%s: a CA is trusted after a failed handshake", name)
		}
	}
	var ue *UntrustedServerError
	if err := get(t, tr, mitmServer(t, ca, forgeCA(t, ca, time.Now().Add(time.Hour))).URL); !errors.As(err, &ue) || !strings.Contains(err.Error(), "not self-signed") {
		t.Fatalf("a forged CA certificate must be refused by the verification, saying why: %v", err)
	}
	if err := get(t, tr, tlsServer(t, ca, true).URL); err != nil {
		t.Fatalf("the real server after the man in the middle: %v", err)
	}
	saved, err := tlsutil.ReadCerts(filepath.Join(dir, CAFile))
	if err != nil || !saved[0].Equal(ca.Cert) {
		t.Fatalf("saved CA after the real server: %v", err)
	}
}

// TestTrustReplacesASavedCAThatNoLongerVerifies: a saved CA with the pin's key that no longer
// verifies the servers (here a forged one that expired, as an earlier version could have saved)
// does not lock the agent out: with the pin configured, a real server is accepted by the pin, and
// the saved file is replaced by the real CA once a request completed.
func TestTrustReplacesASavedCAThatNoLongerVerifies(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	stale := forgeCA(t, ca, time.Now().Add(-time.Hour))
	if err := os.WriteFile(filepath.Join(dir, CAFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: stale.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrust(ca.Pin(), "", dir, nil)
	if err != nil || tr.Roots() == nil {
		t.Fatalf("the saved CA with the pin's key was not loaded: %v", err)
	}
	srv := tlsServer(t, ca, true)
	if err := get(t, tr, srv.URL); err != nil {
		t.Fatalf("a real server is refused after the saved CA went stale: %v", err)
	}
	saved, err := tlsutil.ReadCerts(filepath.Join(dir, CAFile))
	if err != nil || !saved[0].Equal(ca.Cert) {
		t.Fatalf("the stale saved CA was not replaced: %v", err)
	}
	// The next start trusts the replacement, even without the pin.
	again, err := NewTrust("", "", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := get(t, again, srv.URL); err != nil {
		t.Fatalf("the replaced CA does not verify the server: %v", err)
	}
	// Without a pin there is nothing to fall back to: a stale saved CA is refused, with its reason.
	if err := os.WriteFile(filepath.Join(dir, CAFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: stale.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	noPin, _ := NewTrust("", "", dir, nil)
	var ue *UntrustedServerError
	if err := get(t, noPin, srv.URL); !errors.As(err, &ue) {
		t.Fatalf("a stale saved CA without a pin: %v", err)
	}
}
