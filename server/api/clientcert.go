package api

import (
	"net/http"

	"github.com/slipwayhq/slipway/server/fault"
)

// RequireClientCert wraps the API so that a caller must have presented a certificate of the
// cluster CA, which the TLS layer verified (tls.VerifyClientCertIfGiven): a client, CLI, server
// (the leader proxy) or host (an agent) certificate. GET /v1/health, agent registration and host
// certificate renewal stay open, so that load balancers can probe and a host without a valid
// certificate (new, or offline past its expiry) can get one; renewal still needs the host secret.
// The certificate adds to the token; it never replaces it.
func RequireClientCert(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.TLS != nil && len(r.TLS.VerifiedChains) > 0) || openWithoutClientCert(r) {
			next.ServeHTTP(w, r)
			return
		}
		writeError(w, fault.New(fault.Unauthorized,
			"this server requires a client certificate of the cluster CA (tls.require_client_cert): give --client-cert and --client-key (make them with slipway tls cert create --client or --cli)"))
	})
}

func openWithoutClientCert(r *http.Request) bool {
	return (r.Method == http.MethodGet && r.URL.Path == "/v1/health") ||
		(r.Method == http.MethodPost && r.URL.Path == "/v1/agent/register") ||
		// an agent whose host certificate expired renews it with its host secret alone
		(r.Method == http.MethodPost && r.URL.Path == "/v1/agent/certificate")
}
