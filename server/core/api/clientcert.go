package api

import (
	"net/http"
	"path"
	"strings"

	"github.com/slipwayhq/slipway/pkg/tlsutil"
	"github.com/slipwayhq/slipway/server/core/fault"
)

// RequireClientCert wraps the API so that a caller must have presented a certificate of the
// cluster CA, which the TLS layer verified (tls.VerifyClientCertIfGiven), of the kind the route
// is for:
//
//   - on /v1/agent/* routes, a host certificate (which the host-secret check then binds to the
//     secret's host), or any certificate accepted elsewhere;
//   - on every other route, a client, CLI or server certificate (the last for the leader proxy).
//     A host certificate is refused there: any holder of a registration token or of a host secret
//     can obtain one, so it must not pass the gate that keeps everyone else off the API.
//
// GET /v1/health, agent registration and host certificate renewal stay open without a
// certificate, so that load balancers can probe and a host without a valid certificate (new, or
// offline past its expiry) can get one. Renewal still needs the host secret, and the host secret
// alone obtains a fresh certificate at any time: the certificate binds TLS sessions to the host;
// it is not a second factor (see pkg/agentproto, "Host certificates"). The certificate adds to
// the token; it never replaces it.
func RequireClientCert(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if openWithoutClientCert(r) {
			next.ServeHTTP(w, r)
			return
		}
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
			writeError(w, fault.New(fault.Unauthorized,
				"this server requires a client certificate of the cluster CA (tls.require_client_cert): give --client-cert and --client-key (make them with slipway tls cert create --client or --cli)"))
			return
		}
		leaf := r.TLS.VerifiedChains[0][0]
		if _, isHost := tlsutil.HostID(leaf); isHost {
			if isAgentRoute(r.URL.Path) {
				next.ServeHTTP(w, r)
				return
			}
			writeError(w, fault.New(fault.Forbidden,
				"a host certificate is accepted only on the agent routes (/v1/agent/...): this server requires a client or CLI certificate of the cluster CA for %s (tls.require_client_cert); give --client-cert and --client-key (make them with slipway tls cert create --client or --cli)", r.URL.Path))
			return
		}
		if leaf.VerifyHostname(tlsutil.ClientName) == nil || leaf.VerifyHostname(tlsutil.CLIName) == nil || tlsutil.IsServer(leaf) {
			next.ServeHTTP(w, r)
			return
		}
		writeError(w, fault.New(fault.Forbidden,
			"the certificate presented (%q) is not a client, CLI or server certificate of the cluster CA, which this server requires (tls.require_client_cert): give --client-cert and --client-key (make them with slipway tls cert create --client or --cli)", leaf.Subject.CommonName))
	})
}

// isAgentRoute reports whether p is under /v1/agent/, as the router will see it (a path that
// cleaning would change, such as /v1/agent/../apps, is not).
func isAgentRoute(p string) bool {
	return strings.HasPrefix(p, "/v1/agent/") && path.Clean(p) == p
}

func openWithoutClientCert(r *http.Request) bool {
	return (r.Method == http.MethodGet && r.URL.Path == "/v1/health") ||
		(r.Method == http.MethodPost && r.URL.Path == "/v1/agent/register") ||
		// an agent whose host certificate expired renews it with its host secret alone
		(r.Method == http.MethodPost && r.URL.Path == "/v1/agent/certificate")
}
