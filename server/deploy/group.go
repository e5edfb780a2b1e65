package deploy

import (
	"context"
	"sort"

	"github.com/google/uuid"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/deploy/rollout"
)

// Groups is the deployment groups' Go API. A group is shown with its current members: the
// registered hosts it selects, with the health and revision its deployments left them in.
type Groups struct{ core *module.Core }

// Groups returns the deployment groups' API.
func (m *Module) Groups() *Groups { return &Groups{core: m.core} }

// groupView shows a group with its current members among hosts (every registered host, read
// once per request).
func groupView(tx *state.Tx, g Group, hosts []state.Host) pub.Group {
	out := pub.Group{App: g.App, Name: g.Name, Tags: g.Tags, Hosts: g.Hosts, Config: g.Config, AutoRollback: g.AutoRollback,
		CurrentRevision: g.CurrentRevision, ActiveDeployment: g.ActiveDeployment, Members: []pub.GroupMember{},
		HealthCheck: g.HealthCheck.view(), Triggers: triggerViews(groupTriggers(tx, g.ID), false)}
	for _, h := range hosts {
		if !MatchesGroup(g, h) {
			continue
		}
		m, ok := g.Members[h.ID]
		if !ok {
			m = Member{Health: "unknown", Revision: h.Revisions[g.ID]}
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
	if hc := healthCheckOf(req.HealthCheck); hc != nil {
		if err := hc.validate(); err != nil {
			return err
		}
	}
	if req.Config != "" {
		return state.ValidateName("deployment config", req.Config)
	}
	return nil
}

// Create creates a deployment group of app.
func (s *Groups) Create(ctx context.Context, app string, req pub.GroupRequest) (pub.Group, error) {
	return s.put(ctx, app, req, true)
}

// Update changes what req gives of app's group name and keeps the rest (CodeDeploy's
// UpdateDeploymentGroup): it reads the group after a consistent read, fills in the fields req
// leaves out, and proposes the whole group as group.put, whose format stays as it is.
//
// group.put carries no expected ModifyIndex, so two updates racing on one group are last-writer
// wins for the fields the later one filled in from its read, as whole-group updates always were.
// Adding a CAS field would change the command's payload, which is the log format.
func (s *Groups) Update(ctx context.Context, app, name string, req pub.GroupUpdateRequest) (pub.Group, error) {
	// What the request gives is checked before the group is looked up, so a malformed request is
	// told so whether or not the group exists.
	if err := validGroupRequest(mergeGroupUpdate(Group{Name: name}, req)); err != nil {
		return pub.Group{}, err
	}
	if err := s.core.Cluster.ConsistentRead(ctx); err != nil {
		return pub.Group{}, err
	}
	var cur Group
	if err := s.core.State.View(func(tx *state.Tx) error {
		var err error
		cur, err = getGroup(tx, app, name)
		return err
	}); err != nil {
		return pub.Group{}, err
	}
	return s.put(ctx, app, mergeGroupUpdate(cur, req), false)
}

// mergeGroupUpdate is the whole group request an update makes of cur: req's fields where given,
// cur's where not.
func mergeGroupUpdate(cur Group, req pub.GroupUpdateRequest) pub.GroupRequest {
	out := pub.GroupRequest{Name: cur.Name, Tags: cur.Tags, Hosts: cur.Hosts, Config: cur.Config, AutoRollback: cur.AutoRollback, HealthCheck: cur.HealthCheck.view()}
	if req.Tags != nil {
		out.Tags = *req.Tags
	}
	if req.Hosts != nil {
		out.Hosts = *req.Hosts
	}
	if req.Config != nil {
		out.Config = *req.Config
	}
	if req.AutoRollback != nil {
		out.AutoRollback = *req.AutoRollback
	}
	if req.HealthCheck != nil {
		out.HealthCheck = req.HealthCheck
	}
	return out
}

func (s *Groups) put(ctx context.Context, app string, req pub.GroupRequest, create bool) (pub.Group, error) {
	if err := validGroupRequest(req); err != nil {
		return pub.Group{}, err
	}
	req.Config = rollout.Canonical(req.Config)
	res, err := command.Propose(ctx, s.core.Cluster, CmdGroupPut, s.core.Now(), GroupPutPayload{Create: create, ID: uuid.NewString(), App: app,
		Name: req.Name, Tags: req.Tags, Hosts: req.Hosts, Config: req.Config, AutoRollback: req.AutoRollback, HealthCheck: healthCheckOf(req.HealthCheck)})
	if err != nil {
		return pub.Group{}, err
	}
	g, err := command.Data[Group](res)
	if err != nil {
		return pub.Group{}, err
	}
	// The group is written: its members are shown as well as this server knows its hosts.
	var view pub.Group
	_ = s.core.State.View(func(tx *state.Tx) error {
		hosts, err := tx.ListHosts()
		view = groupView(tx, g, hosts)
		return err
	})
	return view, nil
}

// Get returns app's group name.
func (s *Groups) Get(app, name string) (pub.Group, error) {
	var view pub.Group
	err := s.core.State.View(func(tx *state.Tx) error {
		g, err := getGroup(tx, app, name)
		if err != nil {
			return err
		}
		hosts, err := tx.ListHosts()
		view = groupView(tx, g, hosts)
		return err
	})
	return view, err
}

// List returns app's groups in name order; an unknown app is not found.
func (s *Groups) List(app string) ([]pub.Group, error) {
	var out []pub.Group
	err := s.core.State.View(func(tx *state.Tx) error {
		if _, err := getApp(tx, app); err != nil {
			return err
		}
		groups, err := listGroups(tx, app)
		if err != nil {
			return err
		}
		hosts, err := tx.ListHosts()
		for _, g := range groups {
			out = append(out, groupView(tx, g, hosts))
		}
		return err
	})
	return out, err
}

// Delete removes app's group name; one that is running a deployment is a conflict.
func (s *Groups) Delete(ctx context.Context, app, name string) error {
	_, err := command.Propose(ctx, s.core.Cluster, CmdGroupDelete, s.core.Now(), GroupDeletePayload{App: app, Name: name})
	return err
}
