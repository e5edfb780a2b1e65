package config

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/slipwayhq/slipway/pkg/tlsutil"
)

// TLS configures mutual TLS on the cluster port and TLS on the HTTP API. CAFile, CertFile and
// KeyFile go together: all three turn TLS on.
type TLS struct {
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// CAKeyFile is the cluster CA's key; a server holding it can sign agents' host certificates.
	CAKeyFile string `yaml:"ca_key_file"`
	// RequireClientCert refuses API callers without a certificate of the cluster CA, except on
	// GET /v1/health and agent registration.
	RequireClientCert bool `yaml:"require_client_cert"`
}

// Enabled reports whether TLS is configured (CAFile, CertFile and KeyFile all given).
func (t TLS) Enabled() bool { return t.CAFile != "" && t.CertFile != "" && t.KeyFile != "" }

const makeCertsHint = "make them with `slipway tls ca create` and `slipway tls cert create --server`"

// Load reads and checks the CA, the server certificate and key and, when given, the CA key: the
// certificate must be signed by the CA, be a server certificate and match its key. Each error
// names the flag to fix.
func (t TLS) Load() (*tlsutil.Cluster, error) {
	if !t.Enabled() {
		return nil, errors.New("TLS is not configured")
	}
	ca, err := tlsutil.LoadCA(t.CAFile, "")
	if err != nil {
		return nil, fmt.Errorf("--tls-ca-file (tls.ca_file): %w", err)
	}
	if t.CAKeyFile != "" {
		if ca, err = tlsutil.LoadCA(t.CAFile, t.CAKeyFile); err != nil {
			return nil, fmt.Errorf("--tls-ca-key-file (tls.ca_key_file): %w", err)
		}
	}
	if _, err := tlsutil.LoadKeyPair(t.CertFile, t.KeyFile); err != nil {
		return nil, fmt.Errorf("--tls-cert-file, --tls-key-file (tls.cert_file, tls.key_file): %w", err)
	}
	r, err := tlsutil.NewCheckedReloader(t.CertFile, t.KeyFile, func(c *x509.Certificate) error { return tlsutil.CheckServerCert(ca, c) })
	if err != nil {
		return nil, fmt.Errorf("--tls-cert-file (tls.cert_file): %w", err)
	}
	return &tlsutil.Cluster{CA: ca, Cert: r}, nil
}

func (c *Config) validateTLS() []string {
	var errs []string
	t := c.TLS
	given := map[string]string{"--tls-ca-file": t.CAFile, "--tls-cert-file": t.CertFile, "--tls-key-file": t.KeyFile}
	var missing []string
	for _, f := range []string{"--tls-ca-file", "--tls-cert-file", "--tls-key-file"} {
		if given[f] == "" {
			missing = append(missing, f)
		}
	}
	switch {
	case len(missing) > 0 && len(missing) < 3:
		verb := "is"
		if len(missing) > 1 {
			verb = "are"
		}
		errs = append(errs, fmt.Sprintf("--tls-ca-file, --tls-cert-file and --tls-key-file (tls.ca_file, tls.cert_file, tls.key_file) go together: %s %s missing (%s)",
			strings.Join(missing, " and "), verb, makeCertsHint))
	case len(missing) == 0:
		if _, err := t.Load(); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if !t.Enabled() {
		if t.CAKeyFile != "" {
			errs = append(errs, "--tls-ca-key-file (tls.ca_key_file) needs TLS: give --tls-ca-file, --tls-cert-file and --tls-key-file too")
		}
		if t.RequireClientCert {
			errs = append(errs, "--tls-require-client-cert (tls.require_client_cert) needs TLS: give --tls-ca-file, --tls-cert-file and --tls-key-file too")
		}
	}
	if t.Enabled() || c.InsecurePlaintextCluster || len(missing) < 3 {
		return errs
	}
	if where := c.networkRaft(); where != "" {
		errs = append(errs, fmt.Sprintf("%s is reachable from the network, but the cluster port has no TLS: anyone who reaches it could command the cluster. "+
			"Give --tls-ca-file, --tls-cert-file and --tls-key-file (%s), or accept the risk with --insecure-plaintext-cluster", where, makeCertsHint))
	}
	if h, _, err := splitHostPort(c.HTTPAddr); err == nil && !loopback(h) {
		errs = append(errs, fmt.Sprintf("--http-addr (http_addr): %s would serve the API as plain HTTP on the network, where tokens and host secrets travel in clear. "+
			"Give --tls-ca-file, --tls-cert-file and --tls-key-file (%s), or accept the risk with --insecure-plaintext-cluster (which also allows a plaintext API)", c.HTTPAddr, makeCertsHint))
	}
	return errs
}

// networkRaft names the setting that puts the cluster port on the network, or returns "".
func (c *Config) networkRaft() string {
	if h, _, err := splitHostPort(c.RaftAddr); err == nil && !loopback(h) {
		return fmt.Sprintf("--raft-addr (raft_addr) %s", c.RaftAddr)
	}
	if c.Advertise != "" {
		h := c.Advertise
		if hh, _, err := splitHostPort(c.Advertise); err == nil {
			h = hh
		}
		if !loopback(h) {
			return fmt.Sprintf("--advertise (advertise) %s", c.Advertise)
		}
	}
	return ""
}

// PlaintextWarning is what a server logs on every start with --insecure-plaintext-cluster and no
// TLS; "" when there is nothing to warn about.
func (c *Config) PlaintextWarning() string {
	if !c.InsecurePlaintextCluster || c.TLS.Enabled() {
		return ""
	}
	return "--insecure-plaintext-cluster: the cluster port and the API run without TLS; anyone who can reach them can read tokens and command the cluster"
}

// loopback reports whether host is a loopback name or address; an empty or unspecified host
// (every interface) and any other name are not.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
