package api

import (
	"maps"
	"net/http"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
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
	writeJSON(w, http.StatusOK, agentproto.RegisterReply{HostID: h.ID, Name: h.Name, Servers: s.serverURLs()})
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
	defer func() { _ = f.Close() }()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("ETag", `"`+blob.SHA256+`"`)
	w.Header().Set(pub.HeaderSHA256, blob.SHA256)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	http.ServeContent(w, r, "", blob.CreateTime, f)
	return nil
}
