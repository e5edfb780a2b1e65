package session

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/pkg/tlsutil"
)

// Files the agent keeps in its data dir for TLS (see pkg/agentproto, "Host certificates").
const (
	CAFile      = "ca.pem"       // the cluster CA learnt from a pin (0644)
	HostKeyFile = "host-key.pem" // the agent's own key (0600); it never leaves the host
	HostCrtFile = "host.pem"     // the host certificate the cluster signed (0644)
)

// Trust is how the agent verifies servers: the cluster CA from a file, one saved in the data dir
// by an earlier connection, or (until it is learnt) a pin. See pkg/agentproto, "Trust and
// transport security". A Trust with none of them is plain-HTTP development mode.
//
// A CA is learnt from the pin in two steps. The handshake's verification (VerifyConnection)
// accepts a chain holding a CA certificate with the pin, self-signed by that key and valid now,
// that signed the server's certificate; but it runs before the server has proved that it holds
// its certificate's key, so it changes nothing. Only Confirm, called with the state of a
// connection over which a request completed, makes that CA trusted and saves it.
type Trust struct {
	pin  string
	save string // where a CA learnt from the pin is written ("" for a CA file)
	log  *slog.Logger

	mu    sync.RWMutex
	roots *x509.CertPool // nil until the CA is known
}

// NewTrust builds the agent's trust from its ca_pin and ca_file settings and its data dir. With
// both, the file must hold the pinned CA. A CA saved in dataDir by an earlier run is used when no
// file is given, unless a pin is given that it does not match (the CA is then learnt again).
func NewTrust(pin, caFile, dataDir string, log *slog.Logger) (*Trust, error) {
	if log == nil {
		log = slog.Default()
	}
	t := &Trust{log: log, save: filepath.Join(dataDir, CAFile)}
	if pin != "" {
		p, err := tlsutil.ParsePin(pin)
		if err != nil {
			return nil, err
		}
		t.pin = p
	}
	if caFile != "" {
		t.save = ""
		certs, err := tlsutil.ReadCerts(caFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		if t.pin != "" && !hasPin(certs, t.pin) {
			return nil, fmt.Errorf("ca_file %s does not hold the CA with pin %s: the two settings name different clusters; give the right one (or only one)", caFile, t.pin)
		}
		t.roots = pool(certs)
		return t, nil
	}
	certs, err := tlsutil.ReadCerts(t.save)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		log.Warn("the saved cluster CA cannot be read; it is ignored", "file", t.save, "error", err)
	case t.pin != "" && !hasPin(certs, t.pin):
		log.Warn("the saved cluster CA does not match ca_pin; the CA will be learnt again from the servers", "file", t.save, "ca_pin", t.pin)
	default:
		t.roots = pool(certs)
	}
	return t, nil
}

func hasPin(certs []*x509.Certificate, pin string) bool {
	for _, c := range certs {
		if c.IsCA && tlsutil.Pin(c) == pin {
			return true
		}
	}
	return false
}

func pool(certs []*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

// Enabled reports whether the agent verifies servers with TLS (it has a pin or a CA).
func (t *Trust) Enabled() bool {
	if t == nil {
		return false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.pin != "" || t.roots != nil
}

// Roots returns the trusted CAs, nil while only a pin is known.
func (t *Trust) Roots() *x509.CertPool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.roots
}

// CheckURL refuses a server URL the agent must not send its secrets to: an https server it
// cannot verify, or a plain-HTTP server when it is set up to verify the cluster.
func (t *Trust) CheckURL(srv string) error {
	u, err := url.Parse(srv)
	if err != nil {
		return fmt.Errorf("server %q is not a URL", srv)
	}
	on := t.Enabled()
	switch {
	case u.Scheme == "https" && !on:
		return fmt.Errorf("server %s uses https and this agent cannot verify it: give the cluster CA pin printed by 'slipway host token create' (--ca-pin sha256:...) or the CA certificate (--ca-file)", srv)
	case u.Scheme == "http" && on:
		return fmt.Errorf("server %s is plain HTTP but this agent verifies the cluster with TLS (ca_pin, ca_file or the CA saved in its data dir): it will not send its secrets unencrypted; use the server's https:// URL", srv)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("server %s: the URL must start with https:// (or http:// for development)", srv)
	}
	return nil
}

// UntrustedServerError is a TLS handshake the agent refused: the server did not prove it belongs
// to the cluster. Nothing was sent to it.
type UntrustedServerError struct {
	Server string // the name the agent dialled
	Reason string
}

func (e *UntrustedServerError) Error() string {
	return fmt.Sprintf("refusing server %s: %s; nothing was sent to it (check the server URL and --ca-pin/--ca-file: the connection may be intercepted)", e.Server, e.Reason)
}

// ClientConfig returns the TLS configuration of every connection the agent makes: servers are
// verified against the cluster CA or, while none is known or when the saved one does not verify
// the server, against the pin (see Confirm for how a CA is learnt), and the host certificate from cert is presented when the server asks for one (none while cert
// returns nil). Safe for concurrent use; clone it before changing it.
func (t *Trust) ClientConfig(cert func() *tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The standard verification would check the system roots and the dialled name only;
		// VerifyConnection does the cluster's verification instead, on every handshake.
		InsecureSkipVerify: true, //nolint:gosec // verified by VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			return t.verify(cs.ServerName, cs.PeerCertificates)
		},
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if c := cert(); c != nil {
				return c, nil
			}
			return &tls.Certificate{}, nil
		},
	}
}

// verify accepts a chain whose leaf is a server certificate signed by the cluster CA that names
// host (the dialled name) or the cluster's server name. The CA is the known one; with a pin, a
// CA in the chain that passes tlsutil.VerifyPinned when none is known yet, or when the one saved
// in the data dir does not verify the chain (it expired, or the CA certificate was re-issued for
// the same key). It records nothing: see Confirm.
func (t *Trust) verify(host string, chain []*x509.Certificate) error {
	fail := func(format string, a ...any) error {
		return &UntrustedServerError{Server: host, Reason: fmt.Sprintf(format, a...)}
	}
	if len(chain) == 0 {
		return fail("it presented no certificate")
	}
	leaf := chain[0]
	roots := t.Roots()
	if roots == nil {
		if t.pin == "" {
			return fail("this agent has no cluster CA or pin to verify it with")
		}
		if _, err := tlsutil.VerifyPinned(t.pin, chain); err != nil {
			return fail("%v", err)
		}
	} else if err := verifyChain(roots, chain); err != nil {
		if t.pin == "" || t.save == "" {
			return fail("its certificate is not a server certificate of this cluster's CA (%v)", err)
		}
		if _, perr := tlsutil.VerifyPinned(t.pin, chain); perr != nil {
			return fail("its certificate is not a server certificate of this cluster's CA (%v), nor does it pass the pin (%v)", err, perr)
		}
	}
	if err := nameOK(leaf, host); err != nil {
		return fail("%v", err)
	}
	return nil
}

func verifyChain(roots *x509.CertPool, chain []*x509.Certificate) error {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	return err
}

// Confirm learns the cluster CA from a connection over which a request completed (so the server
// proved in the handshake that it holds the key of its certificate, which the pinned CA signed):
// when the agent has a pin and keeps its CA in the data dir, and the known CA (if any) does not
// verify the connection's chain, the chain's CA with the pin becomes the trusted CA and replaces
// DATA/ca.pem. Otherwise it does nothing. cs is http.Response.TLS or the websocket's
// ConnectionState; nil (plain HTTP) is ignored. Safe for concurrent use.
func (t *Trust) Confirm(cs *tls.ConnectionState) {
	if t == nil || cs == nil || !cs.HandshakeComplete || t.pin == "" || t.save == "" || len(cs.PeerCertificates) == 0 {
		return
	}
	if roots := t.Roots(); roots != nil && verifyChain(roots, cs.PeerCertificates) == nil {
		return
	}
	ca, err := tlsutil.VerifyPinned(t.pin, cs.PeerCertificates)
	if err != nil {
		return // the handshake's verification passed; a CA that expired since is learnt next time
	}
	t.learn(ca)
}

// ConfirmConn is Confirm for a connection (the websocket's), when it is a TLS connection.
func (t *Trust) ConfirmConn(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		cs := tc.ConnectionState()
		t.Confirm(&cs)
	}
}

func nameOK(leaf *x509.Certificate, host string) error {
	if host != "" && leaf.VerifyHostname(host) == nil {
		return nil
	}
	if leaf.VerifyHostname(tlsutil.ServerName) == nil {
		return nil
	}
	return fmt.Errorf("its certificate names neither %q nor the cluster's server name %s", host, tlsutil.ServerName)
}

// learn makes ca the trusted CA, in place of any other, and saves it (0644) for the next start.
func (t *Trust) learn(ca *x509.Certificate) {
	t.mu.Lock()
	defer t.mu.Unlock() // held while writing, so that concurrent confirmations write one at a time
	if t.roots != nil && t.roots.Equal(pool([]*x509.Certificate{ca})) {
		return
	}
	replaced := t.roots != nil
	t.roots = pool([]*x509.Certificate{ca})
	if err := writeFileAtomic(t.save, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}), 0o644); err != nil {
		t.log.Warn("could not save the cluster CA; it will be learnt again on the next start", "file", t.save, "error", err)
		return
	}
	if replaced {
		t.log.Warn("the saved cluster CA did not verify the server; replaced by the CA with the pin that a server proved it belongs to", "ca_pin", t.pin, "file", t.save, "not_after", ca.NotAfter)
		return
	}
	t.log.Info("cluster CA verified with the pin and saved", "ca_pin", t.pin, "file", t.save, "not_after", ca.NotAfter)
}

// HostCert holds the agent's own key and its host certificate (see pkg/agentproto, "Host
// certificates"). Safe for concurrent use.
type HostCert struct {
	dir string
	key crypto.Signer

	mu   sync.RWMutex
	cert *tls.Certificate // nil when there is none
	// since is when the lifetime that renewal divides began: when this agent received the
	// certificate, or its NotBefore for one loaded from disk. (NotBefore alone is backdated for
	// clock skew, which would make short certificates due at once, again and again.)
	since time.Time
	now   func() time.Time
}

// LoadHostCert loads the key from dir, making one (0600) on the first start, and the host
// certificate when there is one for that key.
func LoadHostCert(dir string, log *slog.Logger) (*HostCert, error) {
	if log == nil {
		log = slog.Default()
	}
	h := &HostCert{dir: dir, now: time.Now}
	keyFile := filepath.Join(dir, HostKeyFile)
	b, err := os.ReadFile(keyFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
		k, err := tlsutil.NewKey()
		if err != nil {
			return nil, err
		}
		pemKey, err := tlsutil.EncodeKey(k)
		if err != nil {
			return nil, err
		}
		if err := writeFileAtomic(keyFile, pemKey, 0o600); err != nil {
			return nil, fmt.Errorf("save the host key: %w", err)
		}
		h.key = k
		return h, nil
	case err != nil:
		return nil, err
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, HostCrtFile))
	if errors.Is(err, os.ErrNotExist) {
		certPEM = nil
	} else if err != nil {
		return nil, err
	}
	c, err := keyPair(certPEM, b)
	if err != nil {
		return nil, fmt.Errorf("%s is damaged (%w): remove it and %s; the agent then makes a new key and renews its certificate with its host secret", keyFile, err, HostCrtFile)
	}
	h.key = c.PrivateKey.(crypto.Signer)
	if len(c.Certificate) > 0 {
		h.cert, h.since = c, c.Leaf.NotBefore
	} else if certPEM != nil {
		log.Warn("the saved host certificate does not match the host key; it is ignored and will be renewed", "file", filepath.Join(dir, HostCrtFile))
	}
	return h, nil
}

// keyPair parses the key and, when it matches, the certificate (an empty Certificate otherwise).
func keyPair(certPEM, keyPEM []byte) (*tls.Certificate, error) {
	if certPEM != nil {
		if c, err := tls.X509KeyPair(certPEM, keyPEM); err == nil {
			return &c, nil
		}
	}
	// No usable certificate: parse the key alone.
	blk, _ := pem.Decode(keyPEM)
	if blk == nil {
		return nil, errors.New("no PEM key")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	if _, ok := k.(crypto.Signer); !ok {
		return nil, errors.New("the key cannot sign")
	}
	return &tls.Certificate{PrivateKey: k}, nil
}

// CSR returns a certificate request for the agent's key.
func (h *HostCert) CSR(hostID string) (string, error) {
	b, err := tlsutil.NewCSR(h.key, hostID)
	return string(b), err
}

// Current returns the host certificate to present, nil when there is none or it is not valid
// now (a server would refuse the handshake over an expired certificate; without one, the host
// secret alone still renews it).
func (h *HostCert) Current() *tls.Certificate {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.cert == nil {
		return nil
	}
	now := h.now()
	if now.Before(h.cert.Leaf.NotBefore) || !now.Before(h.cert.Leaf.NotAfter) {
		return nil
	}
	return h.cert
}

// Leaf returns the host certificate, nil when there is none (expired or not).
func (h *HostCert) Leaf() *x509.Certificate {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.cert == nil {
		return nil
	}
	return h.cert.Leaf
}

// RenewAt is when the certificate is due for renewal: two thirds into its lifetime, counted
// from when the agent received it (from its NotBefore for one loaded at start). It is the zero
// time when there is no certificate (renew at once).
func (h *HostCert) RenewAt() time.Time {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.cert == nil {
		return time.Time{}
	}
	life := h.cert.Leaf.NotAfter.Sub(h.since)
	return h.since.Add(life * 2 / 3)
}

// Set checks a certificate the cluster issued (PEM) and makes it current: it must be for this
// agent's key, name hostID, and chain to one of roots (the trusted CAs; the CA that came with
// it when roots is nil). It is saved (0644) for the next start.
func (h *HostCert) Set(certPEM []byte, hostID string, roots *x509.CertPool, caPEM []byte) error {
	keyPEM, err := tlsutil.EncodeKey(h.key)
	if err != nil {
		return err
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("the host certificate the server issued is not for this agent's key: %w", err)
	}
	if id, ok := tlsutil.HostID(c.Leaf); !ok || id != hostID {
		return fmt.Errorf("the host certificate the server issued names host %q, not this host %s", id, hostID)
	}
	if roots == nil {
		cas, err := tlsutil.ParseCerts(caPEM)
		if err != nil {
			return fmt.Errorf("the server sent no usable CA with the host certificate: %w", err)
		}
		roots = pool(cas)
	}
	if _, err := c.Leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return fmt.Errorf("the host certificate the server issued is not signed by the cluster CA: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(h.dir, HostCrtFile), certPEM, 0o644); err != nil {
		return fmt.Errorf("save the host certificate: %w", err)
	}
	h.mu.Lock()
	h.cert, h.since = &c, h.now()
	if h.since.Before(c.Leaf.NotBefore) {
		h.since = c.Leaf.NotBefore
	}
	h.mu.Unlock()
	return nil
}

func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil { // WriteFile keeps the mode of an existing file
		return err
	}
	return os.Rename(tmp, path)
}

// isHTTPS reports whether a server URL is https.
func isHTTPS(srv string) bool { return strings.HasPrefix(srv, "https://") }
