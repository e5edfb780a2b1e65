package api

import (
	"maps"
	"net/http"
	"os"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/pkg/tlsutil"
	"github.com/slipwayhq/slipway/server/auth"
	"github.com/slipwayhq/slipway/server/command"
	"github.com/slipwayhq/slipway/server/fault"
	"github.com/slipwayhq/slipway/server/state"
)

// Sessions is what the API needs from the agent session hub.
type Sessions interface {
	ServeSession(w http.ResponseWriter, r *http.Request, host state.Host, servers []string)
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

// agentRegister registers a host with a registration token (see pkg/agentproto).
func (s *Server) agentRegister(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	var req agentproto.Register
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if req.HostID == "" || len(req.HostID) > 64 || len(req.Secret) < 32 {
		return fault.New(fault.Invalid, "registration needs a host_id and a secret of at least 32 characters")
	}
	if err := validTags(req.Tags); err != nil {
		return err
	}
	if err := s.canSignHosts(r, req.CSR); err != nil {
		return err
	}
	tags := maps.Clone(id.HostToken.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	maps.Copy(tags, req.Tags)
	res, err := s.apply(r, nil, command.TypeHostRegister, command.HostRegister{
		HostID: req.HostID, SecretHash: auth.HashSecret(req.Secret), Name: req.Name, Tags: tags,
		Hostname: req.Hostname, OS: req.OS, Arch: req.Arch, AgentVersion: req.AgentVersion,
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
	writeJSON(w, http.StatusOK, reply)
	return nil
}

// canSignHosts refuses, before anything is written, a registration this server could not give a
// host certificate: over TLS a CSR is required and the server needs the CA key.
func (s *Server) canSignHosts(r *http.Request, csr string) error {
	if r.TLS == nil {
		return nil
	}
	if csr == "" {
		return fault.New(fault.Invalid, "this server runs TLS: registration needs a certificate request (csr) for the host certificate; upgrade slipway-agent")
	}
	if s.cfg.CA == nil || s.cfg.CA.Key == nil {
		return fault.New(fault.Unavailable, "this server cannot issue host certificates: it runs TLS without the cluster CA key; start it with --tls-ca-key-file (the key of --tls-ca-file), or register agents through a server that has it")
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

func (s *Server) agentSession(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if s.cfg.Sessions == nil {
		return fault.New(fault.Unavailable, "this server does not accept agents")
	}
	s.cfg.Sessions.ServeSession(w, r, *id.Host, s.serverURLs())
	return nil
}

// agentBundle serves a deployment's bundle to a host the deployment runs on, and to no other.
func (s *Server) agentBundle(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	d, err := s.getDeployment(r)
	if err != nil {
		return err
	}
	if _, ok := d.Targets[id.Host.ID]; !ok {
		return fault.New(fault.Forbidden, "deployment %s does not run on host %s", d.ID, id.Host.Name)
	}
	return s.serveBlob(w, r, d.SHA256, d.ID+"."+d.Format)
}

func (s *Server) serveBlob(w http.ResponseWriter, r *http.Request, sha, name string) error {
	f, blob, err := s.cfg.Blobs.Open(r.Context(), sha)
	if err != nil {
		return err
	}
	defer func(f *os.File) { _ = f.Close() }(f)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("ETag", `"`+blob.SHA256+`"`)
	w.Header().Set(pub.HeaderSHA256, blob.SHA256)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	http.ServeContent(w, r, "", blob.CreateTime, f)
	return nil
}
