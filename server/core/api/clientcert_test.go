package api_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/pkg/tlsutil"
	"github.com/slipwayhq/slipway/server/core/api"
)

// TestRequireClientCertKinds: behind tls.require_client_cert, a host certificate (which any
// holder of a registration token or host secret can obtain) passes only on the agent routes;
// client, CLI and server certificates pass everywhere; no certificate passes only the open routes.
func TestRequireClientCertKinds(t *testing.T) {
	ca, err := tlsutil.NewCA("", 0)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(kind tlsutil.Kind, name string) *x509.Certificate {
		certPEM, _, err := ca.Issue(tlsutil.Request{Kind: kind, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		c, err := tlsutil.ParseCerts(certPEM)
		if err != nil {
			t.Fatal(err)
		}
		return c[0]
	}
	host, client, cli, srv := leaf(tlsutil.KindHost, "h1"), leaf(tlsutil.KindClient, "ci"), leaf(tlsutil.KindCLI, "alice"), leaf(tlsutil.KindServer, "s1")
	h := api.RequireClientCert(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	for _, tc := range []struct {
		cert         *x509.Certificate // nil: none
		method, path string
		code         int // http.StatusTeapot: passed the gate
		says         string
	}{
		{host, "GET", "/v1/apps", http.StatusForbidden, "a host certificate is accepted only on the agent routes"},
		{host, "POST", "/v1/deployments", http.StatusForbidden, "client or CLI certificate"},
		{host, "GET", "/v1/agent/../apps", http.StatusForbidden, "only on the agent routes"},
		{host, "GET", "/v1/agent/session", http.StatusTeapot, ""},
		{host, "GET", "/v1/agent/deployments/d1/bundle", http.StatusTeapot, ""},
		{host, "POST", "/v1/agent/certificate", http.StatusTeapot, ""},
		{host, "GET", "/v1/health", http.StatusTeapot, ""},
		{client, "GET", "/v1/apps", http.StatusTeapot, ""},
		{cli, "POST", "/v1/deployments", http.StatusTeapot, ""},
		{srv, "GET", "/v1/apps", http.StatusTeapot, ""}, // the leader proxy
		{nil, "GET", "/v1/apps", http.StatusUnauthorized, "requires a client certificate"},
		{nil, "GET", "/v1/agent/session", http.StatusUnauthorized, "requires a client certificate"},
		{nil, "GET", "/v1/health", http.StatusTeapot, ""},
		{nil, "POST", "/v1/agent/register", http.StatusTeapot, ""},
		{nil, "POST", "/v1/agent/certificate", http.StatusTeapot, ""},
	} {
		r := httptest.NewRequest(tc.method, "https://server"+tc.path, nil)
		r.TLS = &tls.ConnectionState{HandshakeComplete: true}
		if tc.cert != nil {
			r.TLS.PeerCertificates = []*x509.Certificate{tc.cert}
			r.TLS.VerifiedChains = [][]*x509.Certificate{{tc.cert, ca.Cert}}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		kind := "no certificate"
		if tc.cert != nil {
			kind = tc.cert.Subject.OrganizationalUnit[0] + " certificate"
		}
		if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.says) {
			t.Errorf("%s on %s %s: %d %s, want %d saying %q", kind, tc.method, tc.path, w.Code, strings.TrimSpace(w.Body.String()), tc.code, tc.says)
		}
	}
}
