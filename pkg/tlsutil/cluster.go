package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// Cluster is a server's TLS material: the cluster CA (with its key when this server may sign
// agents' host certificates) and its own server certificate, reloadable. The configurations it
// builds share the Reloader, so one Reload renews the certificate everywhere.
type Cluster struct {
	CA   *CA
	Cert *Reloader
}

// CheckServerCert verifies that cert is signed by ca, valid now, and a server certificate
// (IsServer).
func CheckServerCert(ca *CA, cert *x509.Certificate) error {
	_, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return fmt.Errorf("the certificate is not signed by the cluster CA %q, or not valid now: %w", ca.Cert.Subject.CommonName, err)
	}
	if !IsServer(cert) {
		return fmt.Errorf("the certificate (%s) is not a server certificate: make one with slipway tls cert create --server", describe(cert))
	}
	return nil
}

// ErrNotServerPeer is the reason a connection to or from the cluster port fails when the peer
// holds a certificate of the cluster CA that is not a server certificate.
var ErrNotServerPeer = errors.New("the peer's certificate is not a server certificate of this cluster (a client, CLI or host certificate is refused on the cluster port)")

// VerifyServerPeer is a tls.Config.VerifyConnection that accepts only a peer whose (already
// verified) leaf is a server certificate.
func VerifyServerPeer(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the peer presented no certificate")
	}
	if !IsServer(cs.PeerCertificates[0]) {
		return fmt.Errorf("%w: it is %s", ErrNotServerPeer, describe(cs.PeerCertificates[0]))
	}
	return nil
}

// PeerServerConfig is the configuration that accepts connections on the cluster port: TLS 1.2
// at least, the client must present a server certificate of the cluster CA.
func (c *Cluster) PeerServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS12,
		GetCertificate:   c.Cert.GetCertificate,
		ClientAuth:       tls.RequireAndVerifyClientCert,
		ClientCAs:        c.CA.Pool(),
		VerifyConnection: VerifyServerPeer,
	}
}

// PeerClientConfig is the configuration that dials another server's cluster port, or its API
// on behalf of the cluster (the leader proxy): the server is verified by ServerName, not by the
// address dialed, must be a server certificate, and this server presents its own.
func (c *Cluster) PeerClientConfig() *tls.Config {
	return &tls.Config{
		MinVersion:           tls.VersionTLS12,
		RootCAs:              c.CA.Pool(),
		ServerName:           ServerName,
		GetClientCertificate: c.Cert.GetClientCertificate,
		VerifyConnection:     VerifyServerPeer,
	}
}

// APIServerConfig is the HTTP API's configuration: TLS 1.2 at least, a client certificate is
// verified against the cluster CA when one is given (whether one is required is the HTTP
// layer's decision, so that health checks and agent registration stay reachable).
func (c *Cluster) APIServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: c.Cert.GetCertificate,
		ClientAuth:     tls.VerifyClientCertIfGiven,
		ClientCAs:      c.CA.Pool(),
	}
}

// ExpiresIn returns how long the certificate in use stays valid.
func (c *Cluster) ExpiresIn(now time.Time) time.Duration { return c.Cert.Leaf().NotAfter.Sub(now) }

func describe(cert *x509.Certificate) string {
	kind := "a certificate"
	if _, ok := HostID(cert); ok {
		kind = "a host certificate"
	} else if cert.VerifyHostname(ClientName) == nil {
		kind = "a client certificate"
	} else if cert.VerifyHostname(CLIName) == nil {
		kind = "a CLI certificate"
	}
	return fmt.Sprintf("%s for %q, serial %x", kind, cert.Subject.CommonName, cert.SerialNumber)
}
