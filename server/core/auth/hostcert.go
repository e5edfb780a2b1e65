package auth

import (
	"crypto/tls"

	"github.com/slipwayhq/slipway/pkg/tlsutil"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// CheckHostCertificate decides whether a host-secret request may act as host h given the TLS
// state of its connection (nil when the request came over plain HTTP). It is the identity check
// of pkg/agentproto's "Host certificates":
//
//   - Over plain HTTP (a server without TLS) the host secret alone is enough.
//   - Over TLS the connection must carry a client certificate that the TLS layer verified against
//     the cluster CA and that names host h (tlsutil.HostID). A certificate naming another host, or
//     one that names no host (a client or CLI certificate), is refused. A connection with no
//     client certificate is refused too, unless allowNone: the renewal endpoint lets an agent
//     whose certificate expired renew with its host secret alone.
//
// Refusals are fault.Forbidden with a message saying what to do.
func CheckHostCertificate(h *state.Host, cs *tls.ConnectionState, allowNone bool) error {
	if cs == nil {
		return nil
	}
	if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		if len(cs.PeerCertificates) > 0 {
			// VerifyClientCertIfGiven fails the handshake for a certificate it cannot verify, so
			// this is a server that does not verify client certificates at all.
			return fault.New(fault.Forbidden, "host %s: the client certificate was not verified against the cluster CA; this server cannot accept host certificates (configure --tls-ca-file)", h.Name)
		}
		if allowNone {
			return nil
		}
		return fault.New(fault.Forbidden, "host %s: this server runs TLS and accepts the host secret only with the host's certificate (mutual TLS), and the connection presented none: the agent renews its certificate with POST /v1/agent/certificate (upgrade slipway-agent if it does not)", h.Name)
	}
	leaf := cs.VerifiedChains[0][0]
	id, ok := tlsutil.HostID(leaf)
	if !ok {
		return fault.New(fault.Forbidden, "host %s: the client certificate (%s) is not a host certificate; agent endpoints need the certificate the cluster issued to this host", h.Name, leaf.Subject.CommonName)
	}
	if id != h.ID {
		return fault.New(fault.Forbidden, "host %s: the client certificate is for host ID %s, not %s: a host certificate authenticates only the host it names", h.Name, id, h.ID)
	}
	return nil
}
