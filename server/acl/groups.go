package acl

import (
	"context"
	"slices"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/state"
)

func groupView(g Group, members []string) pub.IAMGroup {
	return pub.IAMGroup{Name: g.Name, Description: g.Description, Policies: g.Policies, Members: members,
		CreateTime: g.CreateTime, CreateIndex: g.CreateIndex, ModifyIndex: g.ModifyIndex}
}

// CreateGroup creates a group.
func (s *Identity) CreateGroup(ctx context.Context, req pub.IAMGroupCreateRequest) (pub.IAMGroup, error) {
	if err := state.ValidateName("group name", req.Name); err != nil {
		return pub.IAMGroup{}, err
	}
	if err := state.ValidateDescription("group", req.Description); err != nil {
		return pub.IAMGroup{}, err
	}
	res, err := propose(ctx, s, CmdGroupCreate, GroupCreatePayload{Name: req.Name, Description: req.Description})
	if err != nil {
		return pub.IAMGroup{}, err
	}
	g, err := command.Data[Group](res)
	return groupView(g, nil), err
}

// GetGroup returns a group with its members.
func (s *Identity) GetGroup(_ context.Context, name string) (pub.IAMGroup, error) {
	var out pub.IAMGroup
	err := s.view(func(tx *state.Tx) error {
		g, err := getGroup(tx, name)
		if err != nil {
			return err
		}
		var members []string
		if err := eachRecord(tx, bucketUsers, func(u User) {
			if slices.Contains(u.Groups, name) {
				members = append(members, u.Name)
			}
		}); err != nil {
			return err
		}
		out = groupView(g, members)
		return nil
	})
	return out, err
}

// ListGroups returns a page of groups in name order (without members).
func (s *Identity) ListGroups(_ context.Context, page api.Page) ([]pub.IAMGroup, string, error) {
	var out []pub.IAMGroup
	var next string
	err := s.view(func(tx *state.Tx) error {
		list, n, err := state.List[Group](tx, bucketGroups, page.After, page.Limit, nil)
		for _, g := range list {
			out = append(out, groupView(g, nil))
		}
		next = n
		return err
	})
	return out, next, err
}

// DeleteGroup deletes a group; its members stay users.
func (s *Identity) DeleteGroup(ctx context.Context, name string) error {
	_, err := propose(ctx, s, CmdGroupDelete, NamePayload{Name: name})
	return err
}

// SetMember adds a user to a group (add) or removes them.
func (s *Identity) SetMember(ctx context.Context, group, user string, add bool) error {
	_, err := propose(ctx, s, CmdGroupMember, GroupMemberPayload{Group: group, User: user, Add: add})
	return err
}
