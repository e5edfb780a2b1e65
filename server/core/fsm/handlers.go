package fsm

import (
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
		command.TypeBlobRegister:    applyBlobRegister,
		command.TypeBlobDelete:      applyBlobDelete,
		command.TypeHostTokenCreate: applyHostTokenCreate,
		command.TypeHostRegister:    applyHostRegister,
		command.TypeHostDelete:      t.applyHostDelete,
		command.TypeHostTag:         applyHostTag,
		command.TypeHostStatus:      applyHostStatus,
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
