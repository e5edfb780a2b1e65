package acl

import (
	"context"
	"slices"
	"strings"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

func roleView(r Role) pub.Role {
	return pub.Role{Name: r.Name, Description: r.Description, Trust: r.Trust, RequireMFA: r.RequireMFA, Policies: r.Policies,
		MaxSession: r.MaxSession.String(), CreateTime: r.CreateTime, CreateIndex: r.CreateIndex, ModifyIndex: r.ModifyIndex}
}

// ValidateTrust checks a role's trust entries: "user/NAME", "group/NAME", "token/ACCESSOR" or
// "role/NAME", NAME a name or a glob of one.
func ValidateTrust(trust []string) error {
	if len(trust) == 0 {
		return fault.New(fault.Invalid, "a role needs at least one trusted principal (--trust user/NAME, group/NAME or token/ACCESSOR)")
	}
	if len(trust) > MaxTrustEntries {
		return fault.New(fault.Invalid, "a role trusts at most %d principals; it names %d", MaxTrustEntries, len(trust))
	}
	for _, t := range trust {
		kind, name, ok := strings.Cut(t, "/")
		if !ok || (kind != KindUser && kind != KindGroup && kind != KindToken && kind != KindRole) || name == "" ||
			state.ValidateName("trusted name", strings.ReplaceAll(strings.ReplaceAll(name, "*", "x"), "?", "x")) != nil {
			return fault.New(fault.Invalid, "trusted principal %s is not user/NAME, group/NAME, token/ACCESSOR or role/NAME", state.Shorten(t))
		}
	}
	return nil
}

// CreateRole creates a role.
func (s *Identity) CreateRole(ctx context.Context, req pub.RoleCreateRequest) (pub.Role, error) {
	if err := state.ValidateName("role name", req.Name); err != nil {
		return pub.Role{}, err
	}
	if err := state.ValidateDescription("role", req.Description); err != nil {
		return pub.Role{}, err
	}
	if err := ValidateTrust(req.Trust); err != nil {
		return pub.Role{}, err
	}
	if len(req.Policies) > MaxPoliciesPerPrincipal {
		return pub.Role{}, fault.New(fault.Invalid, "a role has at most %d policies", MaxPoliciesPerPrincipal)
	}
	max := DefaultRoleSession
	if req.MaxSession != "" {
		d, err := time.ParseDuration(req.MaxSession)
		if err != nil || d < 15*time.Minute || d > MaxRoleSession {
			return pub.Role{}, fault.New(fault.Invalid, "max session %s is not a duration from 15m to %s", state.Shorten(req.MaxSession), MaxRoleSession)
		}
		max = d
	}
	trust := slices.Clone(req.Trust)
	slices.Sort(trust)
	pols := slices.Clone(req.Policies)
	slices.Sort(pols)
	res, err := propose(ctx, s, CmdRoleCreate, RoleCreatePayload{Name: req.Name, Description: req.Description, Trust: slices.Compact(trust),
		RequireMFA: req.RequireMFA, Policies: slices.Compact(pols), MaxSession: int64(max)})
	if err != nil {
		return pub.Role{}, err
	}
	r, err := command.Data[Role](res)
	return roleView(r), err
}

// Role returns a role's record.
func (s *Identity) Role(name string) (Role, error) {
	var r Role
	err := s.view(func(tx *state.Tx) error {
		var err error
		r, err = getRole(tx, name)
		return err
	})
	return r, err
}

// GetRole returns a role as the API shows it.
func (s *Identity) GetRole(_ context.Context, name string) (pub.Role, error) {
	r, err := s.Role(name)
	return roleView(r), err
}

// ListRoles returns a page of roles.
func (s *Identity) ListRoles(_ context.Context, page api.Page) ([]pub.Role, string, error) {
	var out []pub.Role
	var next string
	err := s.view(func(tx *state.Tx) error {
		list, n, err := state.List[Role](tx, bucketRoles, page.After, page.Limit, nil)
		for _, r := range list {
			out = append(out, roleView(r))
		}
		next = n
		return err
	})
	return out, next, err
}

// DeleteRole deletes a role and ends its sessions.
func (s *Identity) DeleteRole(ctx context.Context, name string) error {
	_, err := propose(ctx, s, CmdRoleDelete, NamePayload{Name: name})
	return err
}
