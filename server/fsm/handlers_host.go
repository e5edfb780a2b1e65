package fsm

import (
	"maps"
	"time"

	"github.com/slipwayhq/slipway/server/command"
	"github.com/slipwayhq/slipway/server/fault"
	"github.com/slipwayhq/slipway/server/state"
)

func applyHostTokenCreate(tx *state.Tx, index uint64, c *command.Command) (any, error) {
	var p command.HostTokenCreate
	if err := command.DecodePayload(c, &p); err != nil {
		return nil, err
	}
	ht := state.HostToken{AccessorID: p.AccessorID, SecretHash: p.SecretHash, Tags: p.Tags, CreateTime: c.Time, CreateIndex: index}
	if p.ExpirationTime != 0 {
		exp := time.Unix(0, p.ExpirationTime).UTC()
		ht.ExpirationTime = &exp
	}
	return ht, tx.CreateHostToken(ht)
}

func applyHostRegister(tx *state.Tx, index uint64, c *command.Command) (any, error) {
	var p command.HostRegister
	if err := command.DecodePayload(c, &p); err != nil {
		return nil, err
	}
	if p.HostID == "" || len(p.SecretHash) != 64 {
		return nil, fault.New(fault.Invalid, "registration needs a host id and a secret")
	}
	return tx.RegisterHost(state.Host{
		ID: p.HostID, SecretHash: p.SecretHash, Name: p.Name, Tags: p.Tags, Hostname: p.Hostname,
		OS: p.OS, Arch: p.Arch, AgentVersion: p.AgentVersion, RegisterTime: c.Time,
	}, index)
}

func applyHostDelete(tx *state.Tx, _ uint64, c *command.Command) (any, error) {
	var p command.HostDelete
	if err := command.DecodePayload(c, &p); err != nil {
		return nil, err
	}
	if ids := tx.ActiveDeploymentsOf(p.HostID); len(ids) > 0 {
		return nil, fault.New(fault.Conflict, "host is in deployment %s, which has not finished: wait for it or stop it first", ids[0])
	}
	return nil, tx.DeleteHost(p.HostID)
}

func applyHostTag(tx *state.Tx, index uint64, c *command.Command) (any, error) {
	var p command.HostTag
	if err := command.DecodePayload(c, &p); err != nil {
		return nil, err
	}
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
	h.Tags, h.ModifyIndex = tags, index
	return h, tx.PutHost(h)
}

func applyHostStatus(tx *state.Tx, _ uint64, c *command.Command) (any, error) {
	var p command.HostStatus
	if err := command.DecodePayload(c, &p); err != nil {
		return nil, err
	}
	h, err := tx.GetHost(p.HostID)
	if err != nil {
		return nil, err
	}
	switch {
	case p.Online:
		h.Server, h.Address = p.Server, p.Address
	case h.Server == p.Server: // a stale "offline" from a server the host already left changes nothing
		h.Server = ""
	}
	h.LastSeen = c.Time
	return nil, tx.PutHost(h)
}
