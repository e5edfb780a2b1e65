package fsm

import (
	"time"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// registerCore registers the core's own commands.
func registerCore(t *Table) {
	On(t, command.NoopCmd, applyNoop)
	On(t, command.ClusterInitCmd, applyClusterInit)
	On(t, command.NodeRegisterCmd, applyNodeRegister)
}

// RegisterLegacy registers the handlers that have not moved into their service yet.
//
// TODO(issue 14): each service registers its own; this list shrinks to nothing.
func RegisterLegacy(t *Table) {
	for typ, h := range map[command.Type]Handler{
		command.TypeACLBootstrap:    applyACLBootstrap,
		command.TypeTokenCreate:     applyTokenCreate,
		command.TypeTokenRevoke:     applyTokenRevoke,
		command.TypeAppCreate:       applyAppCreate,
		command.TypeAppDelete:       applyAppDelete,
		command.TypeAppUpdate:       applyAppUpdate,
		command.TypeBlobRegister:    applyBlobRegister,
		command.TypeBlobDelete:      applyBlobDelete,
		command.TypeRevisionCreate:  applyRevisionCreate,
		command.TypeHostTokenCreate: applyHostTokenCreate,
		command.TypeHostRegister:    applyHostRegister,
		command.TypeHostDelete:      t.applyHostDelete,
		command.TypeHostTag:         applyHostTag,
		command.TypeHostStatus:      applyHostStatus,
		command.TypeGroupPut:        applyGroupPut,
		command.TypeGroupDelete:     applyGroupDelete,
		command.TypeConfigCreate:    applyConfigCreate,
		command.TypeHostTokenRevoke: applyHostTokenRevoke,
		command.TypeKeyringAdd:      applyKeyringAdd,
	} {
		t.add(typ, h)
	}
}

func applyNoop(_ *state.Tx, _ uint64, _ *command.Command, _ command.Noop) (any, error) {
	return nil, nil
}

func applyClusterInit(tx *state.Tx, _ uint64, _ *command.Command, p command.ClusterInit) (any, error) {
	if p.ClusterID == "" {
		return nil, fault.New(fault.Invalid, "cluster id is empty")
	}
	if cur := tx.ClusterID(); cur != "" {
		return nil, fault.New(fault.Conflict, "cluster id is already %s", cur)
	}
	return nil, tx.SetClusterID(p.ClusterID)
}

func applyNodeRegister(tx *state.Tx, index uint64, _ *command.Command, p command.NodeRegister) (any, error) {
	if p.NodeID == "" {
		return nil, fault.New(fault.Invalid, "node id is empty")
	}
	return nil, tx.PutNode(state.Node{ID: p.NodeID, RaftAddr: p.RaftAddr, HTTPAddr: p.HTTPAddr, Version: p.Version, ModifyIndex: index})
}

func tokenRecord(p command.Token, index uint64, now time.Time) state.Token {
	tk := state.Token{
		AccessorID: p.AccessorID, SecretHash: p.SecretHash, Name: p.Name, Type: p.Type,
		Policies: p.Policies, CreateTime: now, CreateIndex: index,
	}
	if p.ExpirationTime != 0 {
		exp := time.Unix(0, p.ExpirationTime).UTC()
		tk.ExpirationTime = &exp
	}
	return tk
}

func applyACLBootstrap(tx *state.Tx, index uint64, c *command.Command) (any, error) {
	var p command.ACLBootstrap
	if err := command.DecodePayload(c, &p); err != nil {
		return nil, err
	}
	if at := tx.ACLBootstrapIndex(); at != 0 {
		return nil, fault.New(fault.Conflict, "ACL bootstrap already done (at index %d): ask an operator with a management token to `slipway token create` one for you", at)
	}
	tk := tokenRecord(p.Token, index, c.Time)
	if err := tx.CreateToken(tk); err != nil {
		return nil, err
	}
	return tk, tx.SetACLBootstrapIndex(index)
}

func applyTokenCreate(tx *state.Tx, index uint64, c *command.Command) (any, error) {
	var p command.TokenCreate
	if err := command.DecodePayload(c, &p); err != nil {
		return nil, err
	}
	tk := tokenRecord(p.Token, index, c.Time)
	return tk, tx.CreateToken(tk)
}

func applyTokenRevoke(tx *state.Tx, _ uint64, c *command.Command) (any, error) {
	var p command.TokenRevoke
	if err := command.DecodePayload(c, &p); err != nil {
		return nil, err
	}
	return nil, tx.DeleteToken(p.AccessorID)
}

func applyAppCreate(tx *state.Tx, index uint64, c *command.Command) (any, error) {
	var p command.AppCreate
	if err := command.DecodePayload(c, &p); err != nil {
		return nil, err
	}
	a := state.App{Name: p.Name, Description: p.Description, CreateTime: c.Time, CreateIndex: index, ModifyIndex: index}
	if err := tx.CreateApp(a); err != nil {
		return nil, err
	}
	return a, nil
}

func applyAppUpdate(tx *state.Tx, index uint64, c *command.Command) (any, error) {
	var p command.AppUpdate
	if err := command.DecodePayload(c, &p); err != nil {
		return nil, err
	}
	return tx.UpdateApp(p.Name, p.Description, p.CAS, index)
}

func applyAppDelete(tx *state.Tx, _ uint64, c *command.Command) (any, error) {
	var p command.AppDelete
	if err := command.DecodePayload(c, &p); err != nil {
		return nil, err
	}
	if err := tx.DeleteApp(p.Name); err != nil {
		return nil, err
	}
	return nil, tx.DeleteRevisionsOfApp(p.Name)
}
