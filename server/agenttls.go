package server

import (
	"bytes"
	"crypto/tls"
	"slices"
	"sync"

	"github.com/slipwayhq/slipway/pkg/tlsutil"
)

// withCAChain wraps an API GetCertificate so that the chain the server presents ends with the
// cluster CA certificate. An agent that knows only the CA's pin (--ca-pin) learns the CA from
// this chain (tlsutil.VerifyPinned); other clients ignore the extra certificate. The chain is
// built once per certificate the reloader hands out.
func withCAChain(get func(*tls.ClientHelloInfo) (*tls.Certificate, error), ca *tlsutil.CA) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	var (
		mu        sync.Mutex
		from, out *tls.Certificate
	)
	return func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		c, err := get(hello)
		if err != nil || c == nil {
			return c, err
		}
		mu.Lock()
		defer mu.Unlock()
		if c != from {
			cp := *c
			if !slices.ContainsFunc(c.Certificate, func(der []byte) bool { return bytes.Equal(der, ca.Cert.Raw) }) {
				cp.Certificate = append(slices.Clone(c.Certificate), ca.Cert.Raw)
			}
			from, out = c, &cp
		}
		return out, nil
	}
}

// clusterCA is the CA the API signs host certificates with, nil without TLS.
func clusterCA(c *tlsutil.Cluster) *tlsutil.CA {
	if c == nil {
		return nil
	}
	return c.CA
}
