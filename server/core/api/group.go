package api

import (
	"net/http"
	"sort"

	"github.com/google/uuid"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/deploy/rollout"
)

// groupView shows a group with its current members among hosts (every registered host, read
// once per request).
func groupView(g state.Group, hosts []state.Host) pub.Group {
	out := pub.Group{App: g.App, Name: g.Name, Tags: g.Tags, Hosts: g.Hosts, Config: g.Config, AutoRollback: g.AutoRollback,
		CurrentRevision: g.CurrentRevision, ActiveDeployment: g.ActiveDeployment, Members: []pub.GroupMember{}}
	for _, h := range hosts {
		if !state.MatchesGroup(g, h) {
			continue
		}
		m, ok := g.Members[h.ID]
		if !ok {
			m = state.Member{Health: "unknown", Revision: h.Revisions[g.ID]}
		}
		out.Members = append(out.Members, pub.GroupMember{Host: h.Name, Health: m.Health, Revision: m.Revision})
	}
	sort.Slice(out.Members, func(i, j int) bool { return out.Members[i].Host < out.Members[j].Host })
	return out
}

// Bounds on a deployment group's filters.
const (
	maxGroupTags  = 64
	maxGroupHosts = 1000
)

// validGroupRequest checks what a client sends for a group: its name, at most maxGroupTags tag
// filters (keys are names, values printable labels), at most maxGroupHosts host names, and the
// name of its deployment config. The FSM checks the name and the config again when it applies.
func validGroupRequest(req pub.GroupRequest) error {
	if err := state.ValidateName("deployment group", req.Name); err != nil {
		return err
	}
	if len(req.Tags) > maxGroupTags {
		return fault.New(fault.Invalid, "the group has %d tag filters; at most %d are allowed", len(req.Tags), maxGroupTags)
	}
	for k, v := range req.Tags {
		if err := state.ValidateName("tag key", k); err != nil {
			return err
		}
		if err := state.ValidateLabel("value of tag "+k, v, false); err != nil {
			return err
		}
	}
	if len(req.Hosts) > maxGroupHosts {
		return fault.New(fault.Invalid, "the group names %d hosts; at most %d are allowed: select hosts by tag instead", len(req.Hosts), maxGroupHosts)
	}
	for _, h := range req.Hosts {
		if err := state.ValidateName("host", h); err != nil {
			return err
		}
	}
	if req.Config != "" {
		return state.ValidateName("deployment config", req.Config)
	}
	return nil
}

func (s *Server) groupPut(w http.ResponseWriter, r *http.Request, id *auth.Identity, create bool) error {
	var req pub.GroupRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if !create {
		req.Name = r.PathValue("name")
	}
	if err := validGroupRequest(req); err != nil {
		return err
	}
	res, err := s.apply(r, id, command.TypeGroupPut, command.GroupPut{Create: create, ID: uuid.NewString(), App: r.PathValue("app"),
		Name: req.Name, Tags: req.Tags, Hosts: req.Hosts, Config: req.Config, AutoRollback: req.AutoRollback})
	if err != nil {
		return err
	}
	var g state.Group
	if err := decodeData(res, &g); err != nil {
		return err
	}
	var view pub.Group
	_ = s.cfg.State.View(func(tx *state.Tx) error {
		hosts, err := tx.ListHosts()
		view = groupView(g, hosts)
		return err
	})
	status := http.StatusOK
	if create {
		status = http.StatusCreated
	}
	writeJSON(w, status, view)
	return nil
}

func (s *Server) groupCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return s.groupPut(w, r, id, true)
}

func (s *Server) groupUpdate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return s.groupPut(w, r, id, false)
}

func (s *Server) groupGet(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if err := s.readBarrier(r); err != nil {
		return err
	}
	var view pub.Group
	err := s.cfg.State.View(func(tx *state.Tx) error {
		g, err := tx.GetGroup(r.PathValue("app"), r.PathValue("name"))
		if err != nil {
			return err
		}
		hosts, err := tx.ListHosts()
		view = groupView(g, hosts)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, view)
	return nil
}

func (s *Server) groupList(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if err := s.readBarrier(r); err != nil {
		return err
	}
	out := pub.GroupList{Groups: []pub.Group{}}
	err := s.cfg.State.View(func(tx *state.Tx) error {
		if _, err := tx.GetApp(r.PathValue("app")); err != nil {
			return err
		}
		groups, err := tx.ListGroups(r.PathValue("app"))
		if err != nil {
			return err
		}
		hosts, err := tx.ListHosts()
		for _, g := range groups {
			out.Groups = append(out.Groups, groupView(g, hosts))
		}
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) groupDelete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if _, err := s.apply(r, id, command.TypeGroupDelete, command.GroupDelete{App: r.PathValue("app"), Name: r.PathValue("name")}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) configCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	var req pub.DeploymentConfig
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	// Checked here for a fast answer, and again in apply, which is authoritative.
	if err := state.ValidateName("deployment config", req.Name); err != nil {
		return err
	}
	res, err := s.apply(r, id, command.TypeConfigCreate, command.ConfigCreate{Name: req.Name, Kind: req.Kind, Value: req.Value})
	if err != nil {
		return err
	}
	var dc state.DeploymentConfig
	if err := decodeData(res, &dc); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, pub.DeploymentConfig{Name: dc.Name, Kind: dc.Kind, Value: dc.Value})
	return nil
}

func (s *Server) configList(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if err := s.readBarrier(r); err != nil {
		return err
	}
	out := pub.DeploymentConfigList{Configs: []pub.DeploymentConfig{}}
	for _, b := range rollout.Builtins() {
		out.Configs = append(out.Configs, pub.DeploymentConfig{Name: b.Name, Kind: string(b.Kind), Value: b.Value, Builtin: true})
	}
	err := s.cfg.State.View(func(tx *state.Tx) error {
		list, err := tx.ListDeploymentConfigs()
		for _, c := range list {
			out.Configs = append(out.Configs, pub.DeploymentConfig{Name: c.Name, Kind: c.Kind, Value: c.Value})
		}
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
