package fleet

import (
	"context"
	"sort"
	"strings"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Hosts is the hosts' Go API. Its fields are its dependencies; all but RevisionNames are
// required.
type Hosts struct {
	// Cluster replicates the commands (the node's Raft member).
	Cluster command.Proposer
	// State is this server's state.
	State Reader
	// Now is the clock: a host is online while it holds a session and was heard from less than
	// Timeout ago.
	Now     func() time.Time
	Timeout time.Duration
	// RevisionNames names the keys of hosts' current revisions (internal IDs, which only the
	// service that wrote them can name): "app/group" for a deployment group's ID. nil shows the
	// keys as they are.
	RevisionNames func(tx *state.Tx) map[string]string
}

// List returns every host, in name order. ctx is the caller's; a consistent read, if wanted,
// is the caller's to make first.
func (s *Hosts) List(ctx context.Context) (pub.HostList, error) {
	out := pub.HostList{Hosts: []pub.Host{}}
	err := s.State.View(func(tx *state.Tx) error {
		hosts, err := tx.ListHosts()
		names := s.names(tx)
		for _, h := range hosts {
			out.Hosts = append(out.Hosts, s.view(h, names))
		}
		return err
	})
	if err != nil {
		return out, err
	}
	sort.Slice(out.Hosts, func(i, j int) bool { return out.Hosts[i].Name < out.Hosts[j].Name })
	return out, nil
}

// Get returns the host named name (NotFound if there is none).
func (s *Hosts) Get(ctx context.Context, name string) (view pub.Host, err error) {
	err = s.State.View(func(tx *state.Tx) error {
		h, err := tx.HostByName(name)
		view = s.view(h, s.names(tx))
		return err
	})
	return view, err
}

// Delete deletes the host named name and leaves a tombstone of its ID, so its identity cannot
// register again. Services may refuse it at apply (a host still deploying, for one).
func (s *Hosts) Delete(ctx context.Context, name string) error {
	h, err := s.byName(name)
	if err != nil {
		return err
	}
	_, err = command.Propose(ctx, s.Cluster, command.HostDeleteCmd, s.Now(), command.HostDelete{HostID: h.ID, Tombstone: true})
	return err
}

// Tag sets the tags in set and removes the keys in remove on the host named name, as an
// operator: a re-registration never changes these keys again. The tags and keys are checked
// (names, values, at most state.MaxTags keys to remove) before the host is looked up; the
// command checks the host's resulting tags when it applies.
func (s *Hosts) Tag(ctx context.Context, name string, set map[string]string, remove []string) (pub.Host, error) {
	if err := state.ValidateTags(set); err != nil {
		return pub.Host{}, err
	}
	for _, k := range remove {
		if err := state.ValidateName("tag key", k); err != nil {
			return pub.Host{}, err
		}
	}
	if len(remove) > state.MaxTags {
		return pub.Host{}, fault.New(fault.Invalid, "%d tag keys to remove; the limit is %d", len(remove), state.MaxTags)
	}
	h, err := s.byName(name)
	if err != nil {
		return pub.Host{}, err
	}
	res, err := command.Propose(ctx, s.Cluster, command.HostTagCmd, s.Now(), command.HostTag{HostID: h.ID, Set: set, Remove: remove, Operator: true})
	if err != nil {
		return pub.Host{}, err
	}
	updated, err := command.Data[state.Host](res)
	if err != nil {
		return pub.Host{}, err
	}
	var view pub.Host
	_ = s.State.View(func(tx *state.Tx) error { view = s.view(updated, s.names(tx)); return nil })
	return view, nil
}

func (s *Hosts) byName(name string) (state.Host, error) {
	var h state.Host
	err := s.State.View(func(tx *state.Tx) error {
		var err error
		h, err = tx.HostByName(name)
		return err
	})
	return h, err
}

// names names the keys of hosts' current revisions through RevisionNames.
func (s *Hosts) names(tx *state.Tx) map[string]string {
	if s.RevisionNames == nil {
		return nil
	}
	return s.RevisionNames(tx)
}

// view shows a host; its current revisions are keyed by "app/group" (names, from
// RevisionNames) or "app" for deployments to named hosts ("app-" IDs), instead of internal IDs.
func (s *Hosts) view(h state.Host, names map[string]string) pub.Host {
	status := pub.HostOffline
	if h.Server != "" && s.Now().Sub(h.LastSeen) < s.Timeout {
		status = pub.HostOnline
	}
	var revs map[string]string
	if len(h.Revisions) > 0 {
		revs = map[string]string{}
		for id, rev := range h.Revisions {
			key := id
			if n, ok := names[id]; ok {
				key = n
			} else if app, ok := strings.CutPrefix(id, "app-"); ok {
				key = app
			}
			revs[key] = rev
		}
	}
	return pub.Host{ID: h.ID, Name: h.Name, Tags: h.Tags, Status: status, Address: h.Address, Hostname: h.Hostname,
		OS: h.OS, Arch: h.Arch, AgentVersion: h.AgentVersion, LastSeen: h.LastSeen, RegisterTime: h.RegisterTime, Revisions: revs,
		Capabilities: h.Capabilities}
}
