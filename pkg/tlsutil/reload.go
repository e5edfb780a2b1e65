package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
)

// Reloader serves a certificate and key read from files, and reads them again on Reload (a
// server calls it on SIGHUP), so a renewed certificate is used without a restart. A failed
// reload keeps the certificate it had.
type Reloader struct {
	certFile, keyFile string
	check             func(*x509.Certificate) error

	mu   sync.RWMutex
	cert *tls.Certificate
}

// NewReloader loads the pair once; it fails when the files cannot be used.
func NewReloader(certFile, keyFile string) (*Reloader, error) {
	r := &Reloader{certFile: certFile, keyFile: keyFile}
	return r, r.Reload()
}

// NewCheckedReloader is NewReloader with a check every certificate must pass, on the first load
// and on every Reload, before it is put in use (a server checks that it is still a server
// certificate of its cluster).
func NewCheckedReloader(certFile, keyFile string, check func(*x509.Certificate) error) (*Reloader, error) {
	r := &Reloader{certFile: certFile, keyFile: keyFile, check: check}
	return r, r.Reload()
}

// Reload reads the files again. On error the previous certificate stays in use.
func (r *Reloader) Reload() error {
	c, err := LoadKeyPair(r.certFile, r.keyFile)
	if err != nil {
		return err
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return err
		}
	}
	if r.check != nil {
		if err := r.check(c.Leaf); err != nil {
			return fmt.Errorf("%s: %w", r.certFile, err)
		}
	}
	r.mu.Lock()
	r.cert = &c
	r.mu.Unlock()
	return nil
}

// Leaf returns the certificate in use.
func (r *Reloader) Leaf() *x509.Certificate {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cert.Leaf
}

// GetCertificate is for tls.Config.GetCertificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cert, nil
}

// GetClientCertificate is for tls.Config.GetClientCertificate.
func (r *Reloader) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cert, nil
}

// ClientOptions says how a client of the HTTP API verifies servers and proves who it is.
type ClientOptions struct {
	CAFile     string // PEM CA certificates to trust instead of the system's
	CertFile   string // client certificate, for APIs that require one
	KeyFile    string
	SkipVerify bool // accept any server certificate: for tests and emergencies only
}

// ClientConfig builds a client TLS configuration (TLS 1.2 at least).
func ClientConfig(o ClientOptions) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.SkipVerify} //nolint:gosec // only when the user asked for it
	if o.CAFile != "" {
		pool, err := CertPool(o.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, errors.New("a client certificate needs both --client-cert and --client-key")
	}
	if o.CertFile != "" {
		c, err := LoadKeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg, nil
}
