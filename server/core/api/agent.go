package api

import (
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/pkg/tlsutil"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Sessions is what the API needs from the agent session hub. peer is what the agent said of
// itself in its headers (agentproto.ParsePeer), already checked.
type Sessions interface {
	ServeSession(w http.ResponseWriter, r *http.Request, host state.Host, servers []string, peer agentproto.Peer)
}

// agentPeer reads the agent's version and capabilities from its headers (see agentproto,
// "Versions and capabilities"): none is protocol 1 with [deploy]; a malformed one is refused
// (400) before anything else happens.
func agentPeer(r *http.Request) (agentproto.Peer, error) {
	p, err := agentproto.ParsePeer(r.Header)
	if err != nil {
		return agentproto.Peer{}, fault.New(fault.Invalid, "%v", err)
	}
	return p, nil
}

func (s *Server) serverURLs() []string {
	var urls []string
	_ = s.cfg.State.View(func(tx *state.Tx) error {
		nodes, err := tx.ListNodes()
		for _, n := range nodes {
			if n.HTTPAddr != "" {
				urls = append(urls, n.HTTPAddr)
			}
		}
		return err
	})
	return urls
}

// agentRegister registers a host with a registration token (see pkg/agentproto). Every field
// is bounded before anything is proposed; the token's tags win, and the agent may only add tags
// the token allows. The FSM then checks the token again at apply (revoked, expired, used up),
// refuses a deleted host's identity and enforces agents.max_hosts.
//
// The agent's protocol version and capabilities (its headers) are checked and logged; they are
// not part of the replicated state (the session keeps them).
func (s *Server) agentRegister(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	peer, err := agentPeer(r)
	if err != nil {
		return err
	}
	var req agentproto.Register
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if err := state.ValidateHostID(req.HostID); err != nil {
		return err
	}
	if len(req.Secret) < 32 || len(req.Secret) > 256 || !printableASCII(req.Secret) {
		return fault.New(fault.Invalid, "registration needs a secret of 32-256 printable characters (the agent makes one itself)")
	}
	if err := state.ValidateHostName(req.Name); err != nil {
		return err
	}
	if err := state.ValidateHostFacts(req.Hostname, req.OS, req.Arch, req.AgentVersion); err != nil {
		return err
	}
	if err := state.ValidateTags(req.Tags); err != nil {
		return err
	}
	if err := s.canSignHosts(r, req.CSR); err != nil {
		return err
	}
	tags, err := registrationTags(id.HostToken, req.Tags)
	if err != nil {
		return err
	}
	res, err := s.apply(r, nil, command.TypeHostRegister, command.HostRegister{
		HostID: req.HostID, SecretHash: auth.HashSecret(req.Secret), Name: req.Name, Tags: tags,
		Hostname: req.Hostname, OS: req.OS, Arch: req.Arch, AgentVersion: req.AgentVersion,
		Token: id.HostToken.AccessorID, MaxHosts: s.cfg.MaxHosts,
	})
	if err != nil {
		return err
	}
	var h state.Host
	if err := decodeData(res, &h); err != nil {
		return err
	}
	reply := agentproto.RegisterReply{HostID: h.ID, Name: h.Name, Servers: s.serverURLs()}
	if req.CSR != "" && s.cfg.CA != nil && s.cfg.CA.Key != nil {
		// Signed only now: the registration committed, so host h.ID is this secret's host.
		if reply.Certificate, err = s.signHost(req.CSR, h.ID); err != nil {
			return err
		}
		reply.CA = string(s.cfg.CA.CertPEM())
	}
	s.log.Info("host registered", "host", h.Name, "host_id", h.ID, "agent_version", state.Clip(req.AgentVersion),
		"protocol", peer.Protocol, "capabilities", peer.Capabilities, "plugins", peer.Plugins)
	writeJSON(w, http.StatusOK, reply)
	return nil
}

// canSignHosts refuses, before anything is written (no host committed, no token use spent), a
// registration this server could not give a host certificate: over TLS a CSR is required and the
// server needs the CA key; a CSR it will sign must pass tlsutil.CheckHostCSR, as SignHostCSR
// requires.
func (s *Server) canSignHosts(r *http.Request, csr string) error {
	if r.TLS != nil {
		if csr == "" {
			return fault.New(fault.Invalid, "this server runs TLS: registration needs a certificate request (csr) for the host certificate; upgrade slipway-agent")
		}
		if s.cfg.CA == nil || s.cfg.CA.Key == nil {
			return fault.New(fault.Unavailable, "this server cannot issue host certificates: it runs TLS without the cluster CA key; start it with --tls-ca-key-file (the key of --tls-ca-file), or register agents through a server that has it")
		}
	}
	if csr != "" && s.cfg.CA != nil && s.cfg.CA.Key != nil {
		if err := tlsutil.CheckHostCSR([]byte(csr)); err != nil {
			return fault.New(fault.Invalid, "the registration's certificate request (csr) is refused, and nothing was registered: %v (slipway-agent makes an ECDSA P-256 request; upgrade it, or remove a hand-made host-key.pem from its data dir)", err)
		}
	}
	return nil
}

func (s *Server) signHost(csr, hostID string) (string, error) {
	cert, err := s.cfg.CA.SignHostCSR([]byte(csr), hostID, s.cfg.HostCertValidity)
	if err != nil {
		return "", fault.New(fault.Invalid, "cannot sign the host certificate: %v", err)
	}
	return string(cert), nil
}

// agentCertificate renews the calling host's certificate (see pkg/agentproto, "Host
// certificates"). authenticate has checked the host secret and that the connection carries this
// host's certificate or none.
func (s *Server) agentCertificate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	var req agentproto.CertificateRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if req.CSR == "" {
		return fault.New(fault.Invalid, "a renewal needs a certificate request (csr)")
	}
	if s.cfg.CA == nil || s.cfg.CA.Key == nil {
		if r.TLS == nil {
			return fault.New(fault.Invalid, "this server runs without TLS: there are no host certificates to renew")
		}
		return fault.New(fault.Unavailable, "this server cannot issue host certificates: it runs TLS without the cluster CA key; start it with --tls-ca-key-file, or renew through a server that has it")
	}
	cert, err := s.signHost(req.CSR, id.Host.ID)
	if err != nil {
		return err
	}
	reply := agentproto.CertificateReply{Certificate: cert, CA: string(s.cfg.CA.CertPEM())}
	if c, err := tlsutil.ParseCerts([]byte(cert)); err == nil {
		reply.NotAfter = c[0].NotAfter
	}
	s.log.Info("host certificate renewed", "host", id.Host.Name, "host_id", id.Host.ID, "not_after", reply.NotAfter)
	writeJSON(w, http.StatusOK, reply)
	return nil
}

// registrationTags is a registering host's tags: the token's, which are authoritative, plus the
// agent's own where the token allows them. An agent tag that contradicts a token tag, or that
// no --allow-tag pattern of the token matches, refuses the registration.
func registrationTags(ht *state.HostToken, agent map[string]string) (map[string]string, error) {
	tags := maps.Clone(ht.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	allowed := "none"
	if len(ht.AllowTags) > 0 {
		allowed = strings.Join(ht.AllowTags, ", ")
	}
	for _, k := range slices.Sorted(maps.Keys(agent)) {
		v := agent[k]
		if tv, ok := ht.Tags[k]; ok {
			if tv != v {
				return nil, fault.New(fault.Forbidden, "agent tag %s=%s conflicts with the registration token's tag %s=%s: the token's tags win; drop --tag %s from the agent or register it with a token made for %s=%s",
					k, state.Clip(v), k, tv, k, k, state.Clip(v))
			}
			continue
		}
		if !state.TagAllowed(k, v, ht.AllowTags) {
			return nil, fault.New(fault.Forbidden, "agent tag %s=%s is not allowed by the registration token (allowed patterns: %s): drop --tag %s from the agent, or create a token with --allow-tag that matches it",
				k, state.Clip(v), allowed, k)
		}
		tags[k] = v
	}
	if len(tags) > state.MaxTags {
		return nil, fault.New(fault.Invalid, "the registration would give the host %d tags; the limit is %d", len(tags), state.MaxTags)
	}
	if len(tags) == 0 {
		return nil, nil
	}
	return tags, nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func (s *Server) agentSession(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if s.cfg.Sessions == nil {
		return fault.New(fault.Unavailable, "this server does not accept agents")
	}
	peer, err := agentPeer(r)
	if err != nil {
		return err
	}
	s.cfg.Sessions.ServeSession(w, r, *id.Host, s.serverURLs(), peer)
	return nil
}

// serveBlob answers with a stored blob's bytes, named name for the download (ranges, ETag, the
// content type of a bundle).
func (s *Server) serveBlob(w http.ResponseWriter, r *http.Request, sha, name string) error {
	f, blob, err := s.cfg.Blobs.Open(r.Context(), sha)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("ETag", `"`+blob.SHA256+`"`)
	w.Header().Set(pub.HeaderSHA256, blob.SHA256)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	http.ServeContent(w, r, "", blob.CreateTime, f)
	return nil
}
