// Package tlsutil makes, loads and checks the certificates of a Slipway cluster, with crypto/x509
// and crypto/tls only.
//
// One certificate authority (the cluster CA) signs every certificate of a cluster. What a
// certificate may do is said by its names, which the side that checks it verifies:
//
//   - A server certificate carries the DNS name ServerName ("server.slipway"), loopback, and the
//     names and addresses an operator adds. Servers present it to clients, and to each other as a
//     client certificate on the cluster port, where a peer without ServerName is refused (Nomad's
//     verify_server_hostname).
//   - A client certificate (ClientName) and a CLI certificate (CLIName) are for callers of the
//     HTTP API when the API requires client certificates. Neither is accepted on the cluster port.
//   - A host certificate names one host by the URI HostURI(id). The cluster issues it to an agent
//     at registration from the agent's certificate request, short-lived, and renews it over the
//     agent's session. A host certificate authenticates only the host it names.
//
// Keys are ECDSA P-256. A CA pin is "sha256:" and the hex SHA-256 of the CA certificate's
// SubjectPublicKeyInfo, the form kubeadm's --discovery-token-ca-cert-hash uses.
package tlsutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Names that say what a certificate is for.
const (
	// ServerName is the DNS name every server certificate carries and servers check on each
	// other. Clients that reach a server by an address the certificate does not name may verify
	// this name instead.
	ServerName = "server.slipway"
	// ClientName is the DNS name of API client certificates.
	ClientName = "client.slipway"
	// CLIName is the DNS name of CLI certificates.
	CLIName = "cli.slipway"
	// hostURIPrefix starts the URI that names a host in its certificate.
	hostURIPrefix = "slipway://host/"
)

// Kind is what a certificate is for.
type Kind int

// The kinds of certificate a cluster CA issues.
const (
	KindServer Kind = iota + 1
	KindClient
	KindCLI
	KindHost
)

func (k Kind) String() string {
	switch k {
	case KindServer:
		return "server"
	case KindClient:
		return "client"
	case KindCLI:
		return "cli"
	case KindHost:
		return "host"
	}
	return "unknown"
}

// Default validities.
const (
	DefaultCAValidity   = 5 * 365 * 24 * time.Hour
	DefaultCertValidity = 365 * 24 * time.Hour
	// DefaultHostCertValidity is how long a host certificate lives; agents renew it after two
	// thirds of that.
	DefaultHostCertValidity = 72 * time.Hour
)

// HostURI is the URI naming host id in its certificate.
func HostURI(id string) string { return hostURIPrefix + id }

// HostID returns the host a certificate names, and whether it names one. A certificate naming
// more than one host names none.
func HostID(cert *x509.Certificate) (string, bool) {
	var id string
	for _, u := range cert.URIs {
		if s := u.String(); strings.HasPrefix(s, hostURIPrefix) {
			if id != "" {
				return "", false
			}
			id = strings.TrimPrefix(s, hostURIPrefix)
		}
	}
	return id, id != ""
}

// IsServer reports whether cert is a server certificate of its cluster: it names ServerName and
// may authenticate both ends of a connection.
func IsServer(cert *x509.Certificate) bool {
	if cert.VerifyHostname(ServerName) != nil {
		return false
	}
	var srv, cli bool
	for _, u := range cert.ExtKeyUsage {
		srv = srv || u == x509.ExtKeyUsageServerAuth
		cli = cli || u == x509.ExtKeyUsageClientAuth
	}
	return srv && cli
}

// CA is a cluster certificate authority: its certificate and, where this process may sign, its key.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer // nil when only the certificate was loaded
}

// NewCA makes a self-signed cluster CA. name is its common name ("Slipway CA" when empty).
func NewCA(name string, validity time.Duration) (*CA, error) {
	if name == "" {
		name = "Slipway CA"
	}
	if validity <= 0 {
		validity = DefaultCAValidity
	}
	key, err := NewKey()
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Slipway"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// LoadCA reads a CA certificate and, when keyFile is not empty, its key.
func LoadCA(certFile, keyFile string) (*CA, error) {
	certs, err := ReadCerts(certFile)
	if err != nil {
		return nil, err
	}
	ca := &CA{Cert: certs[0]}
	if !ca.Cert.IsCA {
		return nil, fmt.Errorf("%s: the certificate is not a CA certificate", certFile)
	}
	if keyFile == "" {
		return ca, nil
	}
	key, err := readKey(keyFile)
	if err != nil {
		return nil, err
	}
	if !publicKeysEqual(key.Public(), ca.Cert.PublicKey) {
		return nil, fmt.Errorf("%s is not the key of the CA certificate in %s", keyFile, certFile)
	}
	ca.Key = key
	return ca, nil
}

// CertPEM returns the CA certificate in PEM.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// Pool returns a pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Pin returns the CA's pin (see the package comment).
func (ca *CA) Pin() string { return Pin(ca.Cert) }

// WriteFiles writes DIR/ca.pem and DIR/ca-key.pem (0600). It refuses to overwrite either.
func (ca *CA) WriteFiles(dir string) error {
	if ca.Key == nil {
		return errors.New("the CA has no key to write")
	}
	keyPEM, err := encodeKey(ca.Key)
	if err != nil {
		return err
	}
	return writePair(dir, "ca", ca.CertPEM(), keyPEM)
}

// Request is what a certificate is issued for.
type Request struct {
	Kind Kind
	// Name is the certificate's common name; for a host certificate, the host ID.
	Name string
	// DNS and IPs are added to a server certificate's names (loopback and ServerName are always
	// there).
	DNS []string
	IPs []net.IP
	// Validity defaults to DefaultCertValidity (DefaultHostCertValidity for hosts).
	Validity time.Duration
}

// Issue makes a new key and a certificate for it signed by the CA. It returns both in PEM.
func (ca *CA) Issue(req Request) (certPEM, keyPEM []byte, err error) {
	key, err := NewKey()
	if err != nil {
		return nil, nil, err
	}
	der, err := ca.sign(req, key.Public())
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

// IssueFiles issues a certificate and writes DIR/NAME.pem and DIR/NAME-key.pem (0600), refusing
// to overwrite either.
func (ca *CA) IssueFiles(req Request, dir, name string) error {
	certPEM, keyPEM, err := ca.Issue(req)
	if err != nil {
		return err
	}
	return writePair(dir, name, certPEM, keyPEM)
}

// SignHostCSR signs a host certificate for hostID from a PEM certificate request that passes
// CheckHostCSR. Only the request's public key is used: the names come from hostID alone, so an
// agent cannot ask for a certificate of another host or of a server.
func (ca *CA) SignHostCSR(csrPEM []byte, hostID string, validity time.Duration) ([]byte, error) {
	csr, err := parseHostCSR(csrPEM)
	if err != nil {
		return nil, err
	}
	der, err := ca.sign(Request{Kind: KindHost, Name: hostID, Validity: validity}, csr.PublicKey)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// CheckHostCSR reports whether SignHostCSR would accept a certificate request: one PEM
// CERTIFICATE REQUEST, readable, signed by its own key, for an ECDSA P-256 or P-384 key. A server
// checks it before it commits a registration, so that a request it cannot sign refuses the
// registration before anything is written.
func CheckHostCSR(csrPEM []byte) error {
	_, err := parseHostCSR(csrPEM)
	return err
}

func parseHostCSR(csrPEM []byte) (*x509.CertificateRequest, error) {
	b, _ := pem.Decode(csrPEM)
	if b == nil || b.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("the certificate request is not a PEM CERTIFICATE REQUEST")
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the certificate request cannot be read: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("the certificate request's signature is not valid: %w", err)
	}
	if k, ok := csr.PublicKey.(*ecdsa.PublicKey); !ok || (k.Curve != elliptic.P256() && k.Curve != elliptic.P384()) {
		return nil, errors.New("the certificate request's key must be ECDSA P-256 or P-384")
	}
	return csr, nil
}

func (ca *CA) sign(req Request, pub crypto.PublicKey) ([]byte, error) {
	if ca.Key == nil {
		return nil, errors.New("this CA has no key: it cannot sign certificates")
	}
	if req.Name == "" {
		return nil, errors.New("a certificate needs a name")
	}
	validity := req.Validity
	if validity <= 0 {
		validity = DefaultCertValidity
		if req.Kind == KindHost {
			validity = DefaultHostCertValidity
		}
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: req.Name, Organization: []string{"Slipway"}, OrganizationalUnit: []string{req.Kind.String()}},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	switch req.Kind {
	case KindServer:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		tmpl.DNSNames = dedupe(append([]string{ServerName, "localhost"}, req.DNS...))
		tmpl.IPAddresses = append([]net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, req.IPs...)
	case KindClient:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		tmpl.DNSNames = []string{ClientName}
	case KindCLI:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		tmpl.DNSNames = []string{CLIName}
	case KindHost:
		u, err := url.Parse(HostURI(req.Name))
		if err != nil || strings.ContainsAny(req.Name, "/?#") {
			return nil, fmt.Errorf("host id %q cannot name a certificate", req.Name)
		}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		tmpl.URIs = []*url.URL{u}
	default:
		return nil, fmt.Errorf("unknown certificate kind %d", req.Kind)
	}
	return x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
}

// NewKey makes an ECDSA P-256 key.
func NewKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// NewCSR makes a PEM certificate request for key (the names in it are ignored by SignHostCSR).
func NewCSR(key crypto.Signer, name string) ([]byte, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: name}}, key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// EncodeKey returns key in PEM (PKCS #8).
func EncodeKey(key crypto.Signer) ([]byte, error) { return encodeKey(key) }

// Pin returns the pin of a CA certificate: "sha256:" and the hex SHA-256 of its
// SubjectPublicKeyInfo.
func Pin(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ParsePin checks the spelling of a pin and returns it normalised (lower case).
func ParsePin(pin string) (string, error) {
	p := strings.ToLower(strings.TrimSpace(pin))
	h, ok := strings.CutPrefix(p, "sha256:")
	if b, err := hex.DecodeString(h); !ok || err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("CA pin %q is not sha256: followed by 64 hex digits (as printed by slipway host token create)", pin)
	}
	return p, nil
}

// VerifyPinned verifies a chain a server presented against a pinned CA: some certificate of the
// chain must be a CA whose pin is pin, self-signed by that pinned key and valid now (CheckCA), and
// the leaf must be signed by it and valid now. It returns that CA certificate. This is how an agent
// that knows only the pin learns the cluster CA.
//
// The pin covers only the CA's public key, so the self-signature is what ties the rest of the CA
// certificate (its names, validity and constraints) to the holder of the pinned key: without it,
// anyone could present a CA certificate of their own making that carries the real key.
// VerifyPinned checks certificates only; that the server holds its leaf's key is proved later in
// the handshake, so nothing it returns may be persisted before the handshake completed.
func VerifyPinned(pin string, chain []*x509.Certificate) (*x509.Certificate, error) {
	if len(chain) == 0 {
		return nil, errors.New("the server presented no certificate")
	}
	for _, c := range chain {
		if !c.IsCA || Pin(c) != pin {
			continue
		}
		if err := CheckCA(c, time.Now()); err != nil {
			return nil, fmt.Errorf("the server's CA certificate with pin %s is refused: %w", pin, err)
		}
		pool := x509.NewCertPool()
		pool.AddCert(c)
		inter := x509.NewCertPool()
		for _, ic := range chain[1:] {
			inter.AddCert(ic)
		}
		if _, err := chain[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			return nil, fmt.Errorf("the server's certificate is not signed by the pinned CA: %w", err)
		}
		return c, nil
	}
	return nil, fmt.Errorf("the server's certificate chain has no CA with pin %s: this is not the cluster the pin names, or the connection is intercepted", pin)
}

// CheckCA checks that cert is a CA certificate self-signed by its own key and valid at now: what
// a pin (which hashes only the key) cannot vouch for by itself.
func CheckCA(cert *x509.Certificate, now time.Time) error {
	if !cert.IsCA {
		return fmt.Errorf("%q is not a CA certificate", cert.Subject.CommonName)
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		return fmt.Errorf("CA certificate %q is not self-signed by its own key, so it was not made by the holder of that key (a forged certificate?): %w", cert.Subject.CommonName, err)
	}
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return fmt.Errorf("CA certificate %q is not valid now (valid from %s to %s)", cert.Subject.CommonName,
			cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// ReadCerts reads every certificate in a PEM file; it fails when there is none.
func ReadCerts(file string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	certs, err := ParseCerts(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return certs, nil
}

// ParseCerts parses every certificate in PEM bytes; it fails when there is none.
func ParseCerts(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return out, nil
}

// CertPool reads a PEM file of CA certificates into a pool.
func CertPool(file string) (*x509.CertPool, error) {
	certs, err := ReadCerts(file)
	if err != nil {
		return nil, err
	}
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p, nil
}

// LoadKeyPair loads a certificate and key from PEM files, with a clear error naming them.
func LoadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return c, fmt.Errorf("load certificate %s and key %s: %w", certFile, keyFile, err)
	}
	return c, nil
}

func readKey(file string) (crypto.Signer, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM key found", file)
	}
	var k any
	switch blk.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	default:
		return nil, fmt.Errorf("%s: %s is not a private key", file, blk.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: the key cannot sign", file)
	}
	return s, nil
}

func encodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// writePair writes DIR/NAME.pem (0644) and DIR/NAME-key.pem (0600), refusing to overwrite.
func writePair(dir, name string, certPEM, keyPEM []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	certFile, keyFile := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	for _, f := range []string{certFile, keyFile} {
		if _, err := os.Stat(f); err == nil {
			return fmt.Errorf("%s exists: refusing to overwrite it (remove it first, or choose another --out)", f)
		}
	}
	if err := writeNew(keyFile, keyPEM, 0o600); err != nil {
		return err
	}
	return writeNew(certFile, certPEM, 0o644)
}

func writeNew(file string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func newSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
