package testutil

import (
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/slipwayhq/slipway/pkg/tlsutil"
	"github.com/slipwayhq/slipway/server/core/config"
)

// ClusterTLS is a test cluster's certificate authority and the folder its files are in:
// DIR/ca.pem and DIR/ca-key.pem, and DIR/NAME.pem and DIR/NAME-key.pem for every certificate
// issued through it. Tests issue more (client, CLI, host certificates) with Issue.
type ClusterTLS struct {
	Dir string
	CA  *tlsutil.CA
}

// NewClusterTLS makes a fresh CA in dir.
func NewClusterTLS(t testing.TB, dir string) *ClusterTLS {
	t.Helper()
	ca, err := tlsutil.NewCA("Slipway test CA", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	return &ClusterTLS{Dir: dir, CA: ca}
}

// CAFile is the path of the CA certificate.
func (ct *ClusterTLS) CAFile() string { return filepath.Join(ct.Dir, "ca.pem") }

// CAKeyFile is the path of the CA key.
func (ct *ClusterTLS) CAKeyFile() string { return filepath.Join(ct.Dir, "ca-key.pem") }

// Files returns the certificate and key paths of name.
func (ct *ClusterTLS) Files(name string) (certFile, keyFile string) {
	return filepath.Join(ct.Dir, name+".pem"), filepath.Join(ct.Dir, name+"-key.pem")
}

// Issue issues a certificate of kind for name and writes DIR/NAME.pem and DIR/NAME-key.pem,
// replacing files of that name (a reissue). It returns the certificate and key paths.
func (ct *ClusterTLS) Issue(t testing.TB, kind tlsutil.Kind, name string) (certFile, keyFile string) {
	t.Helper()
	certPEM, keyPEM, err := ct.CA.Issue(tlsutil.Request{Kind: kind, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = ct.Files(name)
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// KeyPair issues a certificate of kind for name and returns it loaded.
func (ct *ClusterTLS) KeyPair(t testing.TB, kind tlsutil.Kind, name string) tls.Certificate {
	t.Helper()
	c, err := tlsutil.LoadKeyPair(ct.Issue(t, kind, name))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ServerConfig issues a server certificate for a node and returns the TLS settings of its
// config, with the CA key (so it can sign host certificates).
func (ct *ClusterTLS) ServerConfig(t testing.TB, node string) config.TLS {
	t.Helper()
	certFile, keyFile := ct.Issue(t, tlsutil.KindServer, node)
	return config.TLS{CAFile: ct.CAFile(), CertFile: certFile, KeyFile: keyFile, CAKeyFile: ct.CAKeyFile()}
}

// HTTPClient returns an HTTP client that trusts only the CA and presents a new client
// certificate named name.
func (ct *ClusterTLS) HTTPClient(t testing.TB, name string) *http.Client {
	t.Helper()
	return ct.HTTPClientWith(ct.KeyPair(t, tlsutil.KindClient, name))
}

// HTTPClientWith returns an HTTP client that trusts only the CA and presents certs.
func (ct *ClusterTLS) HTTPClientWith(certs ...tls.Certificate) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: ct.CA.Pool(), Certificates: certs}
	return &http.Client{Transport: tr}
}
