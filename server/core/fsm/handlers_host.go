package fsm

import (
	"maps"
	"slices"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

func applyHostTokenCreate(tx *state.Tx, index uint64, c *command.Command, p command.HostTokenCreate) (any, error) {
	ht := state.HostToken{AccessorID: p.AccessorID, SecretHash: p.SecretHash, Tags: p.Tags, AllowTags: p.AllowTags,
		MaxUses: p.MaxUses, CreateTime: c.Time, CreateIndex: index, ModifyIndex: index}
	if p.ExpirationTime != 0 {
		exp := time.Unix(0, p.ExpirationTime).UTC()
		ht.ExpirationTime = &exp
	}
	return ht, tx.HostTokens().Create(ht)
}

func applyHostRegister(tx *state.Tx, index uint64, c *command.Command, p command.HostRegister) (any, error) {
	if p.HostID == "" || len(p.SecretHash) != 64 {
		return nil, fault.New(fault.Invalid, "registration needs a host id and a secret")
	}
	h := state.Host{
		ID: p.HostID, SecretHash: p.SecretHash, Name: p.Name, Tags: p.Tags, Hostname: p.Hostname,
		OS: p.OS, Arch: p.Arch, AgentVersion: p.AgentVersion, RegisterTime: c.Time,
	}
	if c.Version < 2 && p.Token == "" { // written before tokens were checked here: applied as it was then
		return tx.RegisterHost(h, index, false)
	}
	if p.Token == "" {
		return nil, fault.New(fault.Unauthorized, "registration without a registration token: register the agent with a token from slipway host token create")
	}
	if err := validRegistration(p); err != nil {
		return nil, err
	}
	ht, err := tx.HostTokens().Get(p.Token)
	if err != nil {
		return nil, fault.New(fault.Unauthorized, "the registration token is not valid (unknown or revoked): create one with slipway host token create")
	}
	if ht.Expired(c.Time) {
		return nil, fault.New(fault.Unauthorized, "the registration token expired at %s: create a new one with slipway host token create", ht.ExpirationTime.Format(time.RFC3339))
	}
	cur, exists, err := tx.LookupHost(p.HostID)
	if err != nil {
		return nil, err
	}
	if !exists || cur.SecretHash != p.SecretHash {
		// A new host (or a claim on another's ID, which RegisterHost refuses): it must not be
		// a deleted one, and it uses up one of the token's uses and one of the cluster's hosts.
		if ts, dead, err := tx.HostTombstoneOf(p.HostID); err != nil {
			return nil, err
		} else if dead {
			return nil, deletedIdentity(ts, "")
		}
		// From version 2 the secret is checked too: a deleted host's agent must not come back
		// under a new ID with its old secret. (Version 1 entries apply as they were written.)
		if c.Version >= 2 {
			if ts, dead, err := tx.HostSecretTombstoneOf(p.SecretHash); err != nil {
				return nil, err
			} else if dead {
				return nil, deletedIdentity(ts, ", whose secret this agent sends,")
			}
		}
	}
	if !exists {
		if ht.UsedUp() {
			return nil, fault.New(fault.Unauthorized, "the registration token has registered its maximum of %d hosts: create a new one with slipway host token create (--max-uses N for more)", ht.MaxUses)
		}
		if p.MaxHosts > 0 && tx.CountHosts() >= p.MaxHosts {
			return nil, fault.New(fault.Conflict, "the cluster has reached its maximum of %d hosts: delete hosts no longer used (slipway host delete) or raise agents.max_hosts (--max-hosts, SLIPWAY_MAX_HOSTS) on the servers", p.MaxHosts)
		}
	}
	reg, err := tx.RegisterHost(h, index, true)
	if err != nil {
		return nil, err
	}
	if !exists {
		ht.Uses++
		ht.ModifyIndex = index
		if err := tx.HostTokens().Put(ht); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// deletedIdentity is the refusal of a registration with the ID or (with the note about the
// secret) the secret of a deleted host.
func deletedIdentity(ts state.HostTombstone, secretNote string) error {
	return fault.New(fault.Conflict, "host %s (%s)%s was deleted at %s and cannot register again with the same identity: give the agent a fresh identity (stop it, delete identity.json in its data dir) and start it with a new registration token (slipway host token create)",
		ts.HostID, ts.Name, secretNote, ts.DeleteTime.Format(time.RFC3339))
}

// validRegistration checks a registration's fields again (the API checked them first), so that
// no command can put an unbounded or hostile value into the state.
func validRegistration(p command.HostRegister) error {
	if err := state.ValidateHostID(p.HostID); err != nil {
		return err
	}
	if err := state.ValidateHostName(p.Name); err != nil {
		return err
	}
	if err := state.ValidateHostFacts(p.Hostname, p.OS, p.Arch, p.AgentVersion); err != nil {
		return err
	}
	return state.ValidateTags(p.Tags)
}

func applyHostTokenRevoke(tx *state.Tx, _ uint64, c *command.Command, p command.HostTokenRevoke) (any, error) {
	return nil, tx.HostTokens().Delete(p.AccessorID)
}

// applyHostDelete deletes a host. Services that must keep a host while it has work on it refuse
// the deletion with a check of their own on host.delete (module.Before), run before this.
func applyHostDelete(tx *state.Tx, index uint64, c *command.Command, p command.HostDelete) (any, error) {
	h, err := tx.GetHost(p.HostID)
	if err != nil {
		return nil, err
	}
	if err := tx.DeleteHost(p.HostID); err != nil {
		return nil, err
	}
	if !p.Tombstone {
		return nil, nil
	}
	return nil, tx.AddHostTombstone(state.HostTombstone{HostID: h.ID, Name: h.Name, SecretHash: h.SecretHash, DeleteTime: c.Time, DeleteIndex: index})
}

func applyHostTag(tx *state.Tx, index uint64, c *command.Command, p command.HostTag) (any, error) {
	h, err := tx.GetHost(p.HostID)
	if err != nil {
		return nil, err
	}
	tags := maps.Clone(h.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	maps.Copy(tags, p.Set)
	for _, k := range p.Remove {
		delete(tags, k)
	}
	if p.Operator {
		if len(tags) > state.MaxTags {
			return nil, fault.New(fault.Invalid, "host %s would have %d tags; the limit is %d: remove some", h.Name, len(tags), state.MaxTags)
		}
		keys := slices.Clone(h.OperatorTags)
		keys = append(keys, slices.Collect(maps.Keys(p.Set))...)
		keys = append(keys, p.Remove...)
		slices.Sort(keys)
		keys = slices.Compact(keys)
		if len(keys) > state.MaxOperatorTagKeys {
			return nil, fault.New(fault.Invalid, "host %s would have %d operator-set tag keys; the limit is %d", h.Name, len(keys), state.MaxOperatorTagKeys)
		}
		h.OperatorTags = keys
	}
	if len(tags) == 0 {
		tags = nil
	}
	h.Tags, h.ModifyIndex = tags, index
	return h, tx.PutHost(h)
}

func applyHostStatus(tx *state.Tx, _ uint64, c *command.Command, p command.HostStatus) (any, error) {
	h, err := tx.GetHost(p.HostID)
	if err != nil {
		return nil, err
	}
	switch {
	case p.Online:
		h.Server, h.Address = p.Server, p.Address
		if p.Capabilities != nil { // entries before builds carry none: the host keeps its own
			h.Capabilities = boundCapabilities(p.Capabilities)
		}
	case h.Server == p.Server: // a stale "offline" from a server the host already left changes nothing
		h.Server = ""
	}
	h.LastSeen = c.Time
	return nil, tx.PutHost(h)
}

// boundCapabilities keeps at most agentproto.MaxPeerNames capabilities of at most
// agentproto.MaxPeerNameBytes bytes each (what the hub accepted from the agent's headers),
// sorted and without duplicates, so a record stays small whatever a proposer sent.
func boundCapabilities(in []string) []string {
	out := make([]string, 0, min(len(in), agentproto.MaxPeerNames))
	for _, c := range in {
		if c != "" && len(c) <= agentproto.MaxPeerNameBytes && len(out) < agentproto.MaxPeerNames {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
