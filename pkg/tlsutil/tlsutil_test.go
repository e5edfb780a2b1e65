package tlsutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newCA(t *testing.T) *CA {
	t.Helper()
	ca, err := NewCA("", 0)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func issue(t *testing.T, ca *CA, req Request) tls.Certificate {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(req)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	c.Leaf, _ = x509.ParseCertificate(c.Certificate[0])
	return c
}

func TestKindsCarryTheirNames(t *testing.T) {
	ca := newCA(t)
	srv := issue(t, ca, Request{Kind: KindServer, Name: "s1", DNS: []string{"slipway.example.com"}, IPs: []net.IP{net.ParseIP("10.0.0.5")}})
	if !IsServer(srv.Leaf) {
		t.Fatal("a server certificate is not recognised as one")
	}
	for _, name := range []string{ServerName, "localhost", "slipway.example.com", "127.0.0.1", "10.0.0.5"} {
		if err := srv.Leaf.VerifyHostname(name); err != nil {
			t.Errorf("server certificate does not name %s: %v", name, err)
		}
	}
	for _, k := range []Kind{KindClient, KindCLI} {
		c := issue(t, ca, Request{Kind: k, Name: "x"})
		if IsServer(c.Leaf) {
			t.Errorf("a %s certificate passes as a server certificate", k)
		}
		if _, ok := HostID(c.Leaf); ok {
			t.Errorf("a %s certificate names a host", k)
		}
	}
	if _, _, err := ca.Issue(Request{Kind: KindHost, Name: "../x"}); err == nil {
		t.Fatal("a host id with a slash was accepted into a certificate")
	}
}

func TestHostCSRNamesOnlyTheGivenHost(t *testing.T) {
	ca := newCA(t)
	key, _ := NewKey()
	csr, err := NewCSR(key, ServerName) // asks to be a server: ignored
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.SignHostCSR(csr, "host-a", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := ParseCerts(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := HostID(certs[0]); !ok || id != "host-a" {
		t.Fatalf("host id = %q, %v; want host-a", id, ok)
	}
	if IsServer(certs[0]) {
		t.Fatal("a host certificate passes as a server certificate")
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("host certificate does not verify as a client certificate: %v", err)
	}
	if _, err := ca.SignHostCSR([]byte("junk"), "host-a", time.Hour); err == nil {
		t.Fatal("junk accepted as a certificate request")
	}
}

func TestPin(t *testing.T) {
	ca, other := newCA(t), newCA(t)
	srv := issue(t, ca, Request{Kind: KindServer, Name: "s1"})
	pin, err := ParsePin(ca.Pin())
	if err != nil {
		t.Fatal(err)
	}
	got, err := VerifyPinned(pin, []*x509.Certificate{srv.Leaf, ca.Cert})
	if err != nil || !got.Equal(ca.Cert) {
		t.Fatalf("pinned chain refused: %v", err)
	}
	if _, err := VerifyPinned(other.Pin(), []*x509.Certificate{srv.Leaf, ca.Cert}); err == nil {
		t.Fatal("a chain accepted for another CA's pin")
	}
	// A man in the middle presenting its own CA with the right pin's... it cannot: the pin is of
	// the key. One presenting the real CA certificate beside its own leaf fails verification.
	mitm := issue(t, other, Request{Kind: KindServer, Name: "evil"})
	if _, err := VerifyPinned(pin, []*x509.Certificate{mitm.Leaf, ca.Cert}); err == nil {
		t.Fatal("a leaf of another CA accepted beside the pinned CA certificate")
	}
	// A forged CA certificate carrying the real CA's public key (so the real pin) but made by
	// someone else, beside a real server certificate: the pin alone would accept it.
	forged := forgeCA(t, ca, time.Now().Add(time.Minute))
	if Pin(forged) != pin {
		t.Fatal("the forged CA does not carry the pinned key: the test proves nothing")
	}
	if _, err := VerifyPinned(pin, []*x509.Certificate{srv.Leaf, forged}); err == nil || !strings.Contains(err.Error(), "not self-signed") {
		t.Fatalf("a forged CA certificate with the real key was accepted: %v", err)
	}
	// The real CA certificate outside its validity is refused too.
	if err := CheckCA(ca.Cert, ca.Cert.NotAfter.Add(time.Second)); err == nil || !strings.Contains(err.Error(), "not valid now") {
		t.Fatalf("an expired CA certificate passed: %v", err)
	}
	if err := CheckCA(ca.Cert, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := CheckCA(srv.Leaf, time.Now()); err == nil {
		t.Fatal("a server certificate passed as a CA")
	}
	for _, bad := range []string{"", "sha256:xyz", "md5:00", ca.Pin()[:20]} {
		if _, err := ParsePin(bad); err == nil {
			t.Errorf("pin %q accepted", bad)
		}
	}
}

// forgeCA makes a CA certificate with ca's subject and public key, valid until notAfter, signed by
// another key: what a man in the middle can make without the CA key.
func forgeCA(t *testing.T, ca *CA, notAfter time.Time) *x509.Certificate {
	t.Helper()
	key, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(666), Subject: ca.Cert.Subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter,
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
	return c
}

func TestFilesRoundTripAndNeverOverwrite(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	if err := ca.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	if err := ca.WriteFiles(dir); err == nil {
		t.Fatal("CA files overwritten")
	}
	fi, err := os.Stat(filepath.Join(dir, "ca-key.pem"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("ca-key.pem mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	loaded, err := LoadCA(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if err := loaded.IssueFiles(Request{Kind: KindServer, Name: "s1"}, dir, "s1"); err != nil {
		t.Fatal(err)
	}
	other := newCA(t)
	odir := t.TempDir()
	if err := other.WriteFiles(odir); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCA(filepath.Join(dir, "ca.pem"), filepath.Join(odir, "ca-key.pem")); err == nil {
		t.Fatal("a CA loaded with another CA's key")
	}
	if _, err := LoadCA(filepath.Join(dir, "s1.pem"), ""); err == nil {
		t.Fatal("a server certificate loaded as a CA")
	}
	r, err := NewReloader(filepath.Join(dir, "s1.pem"), filepath.Join(dir, "s1-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	first := r.Leaf().SerialNumber
	_ = os.Remove(filepath.Join(dir, "s1.pem"))
	_ = os.Remove(filepath.Join(dir, "s1-key.pem"))
	if err := r.Reload(); err == nil {
		t.Fatal("reload of missing files succeeded")
	}
	if r.Leaf().SerialNumber.Cmp(first) != 0 {
		t.Fatal("a failed reload dropped the certificate in use")
	}
	if err := loaded.IssueFiles(Request{Kind: KindServer, Name: "s1"}, dir, "s1"); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(); err != nil || r.Leaf().SerialNumber.Cmp(first) == 0 {
		t.Fatalf("reload did not pick up the new certificate: %v", err)
	}
}

func TestClientConfigNeedsBothHalves(t *testing.T) {
	_, err := ClientConfig(ClientOptions{CertFile: "x.pem"})
	if err == nil {
		t.Fatal("a client certificate without a key accepted")
	}
	_, err = ClientConfig(ClientOptions{CAFile: filepath.Join(t.TempDir(), "missing.pem")})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing CA file: %v", err)
	}
}

func TestCheckHostCSR(t *testing.T) {
	csrOf := func(key crypto.Signer) []byte {
		t.Helper()
		b, err := NewCSR(key, "h")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	p256, _ := NewKey()
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, ok := range [][]byte{csrOf(p256), csrOf(p384)} {
		if err := CheckHostCSR(ok); err != nil {
			t.Fatalf("a P-256/P-384 request refused: %v", err)
		}
	}
	tampered := csrOf(p256)
	blk, _ := pem.Decode(tampered)
	blk.Bytes[len(blk.Bytes)-3] ^= 0xff // inside the signature
	for name, bad := range map[string][]byte{
		"rsa": csrOf(rsaKey), "p521": csrOf(p521), "junk": []byte("junk"),
		"certificate": newCA(t).CertPEM(), "bad signature": pem.EncodeToMemory(blk),
	} {
		err := CheckHostCSR(bad)
		if err == nil {
			t.Fatalf("%s: accepted", name)
		}
		if _, signErr := newCA(t).SignHostCSR(bad, "h", time.Hour); signErr == nil || signErr.Error() != err.Error() {
			t.Fatalf("%s: SignHostCSR says %v, CheckHostCSR %v", name, signErr, err)
		}
	}
}
