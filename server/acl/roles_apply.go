package acl

import (
	"time"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

func getRole(tx *state.Tx, name string) (Role, error) {
	r, ok, err := state.Get[Role](tx, bucketRoles, name)
	if err == nil && !ok {
		err = fault.New(fault.NotFound, "role %s not found: `slipway iam role list` shows the roles", state.Shorten(name))
	}
	return r, err
}

func applyRoleCreate(tx *state.Tx, index uint64, c *command.Command, p RoleCreatePayload) (any, error) {
	if _, ok, err := state.Get[Role](tx, bucketRoles, p.Name); err != nil || ok {
		if err == nil {
			err = fault.New(fault.Conflict, "role %s already exists", p.Name)
		}
		return nil, err
	}
	for _, name := range p.Policies {
		if err := policyExists(tx, name); err != nil {
			return nil, err
		}
	}
	r := Role{Name: p.Name, Description: p.Description, Trust: p.Trust, RequireMFA: p.RequireMFA, Policies: p.Policies,
		MaxSession: time.Duration(p.MaxSession), CreateTime: c.Time, CreateIndex: index, ModifyIndex: index}
	if err := state.Put(tx, bucketRoles, r.Name, r); err != nil {
		return nil, err
	}
	return r, bump(tx, index)
}

// applyRoleDelete deletes a role and ends its sessions.
func applyRoleDelete(tx *state.Tx, index uint64, _ *command.Command, p NamePayload) (any, error) {
	if _, err := getRole(tx, p.Name); err != nil {
		return nil, err
	}
	if err := revokeTokens(tx, func(tk state.Token) bool { return tk.Role == p.Name }); err != nil {
		return nil, err
	}
	if err := state.Delete(tx, bucketRoles, p.Name); err != nil {
		return nil, err
	}
	return nil, bump(tx, index)
}
