package fsm

import (
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// registerCore registers the core's own commands: cluster membership, blobs, hosts and their
// registration tokens (authentication and agent sessions are the core's), the keyring, and the
// audit trail's appends and trims (handlers_audit.go).
func registerCore(t *Table) {
	On(t, command.NoopCmd, applyNoop)
	On(t, command.ClusterInitCmd, applyClusterInit)
	On(t, command.NodeRegisterCmd, applyNodeRegister)
	On(t, command.BlobRegisterCmd, applyBlobRegister)
	On(t, command.BlobDeleteCmd, applyBlobDelete)
	On(t, command.HostTokenCreateCmd, applyHostTokenCreate)
	On(t, command.HostRegisterCmd, applyHostRegister)
	On(t, command.HostDeleteCmd, applyHostDelete)
	On(t, command.HostTagCmd, applyHostTag)
	On(t, command.HostStatusCmd, applyHostStatus)
	On(t, command.HostTokenRevokeCmd, applyHostTokenRevoke)
	On(t, command.KeyringAddCmd, applyKeyringAdd)
	On(t, command.AuditAppendCmd, applyAuditAppend)
	On(t, command.AuditTrimCmd, applyAuditTrim)
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
