package acl

import (
	"slices"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

func getGroup(tx *state.Tx, name string) (Group, error) {
	g, ok, err := state.Get[Group](tx, bucketGroups, name)
	if err == nil && !ok {
		err = fault.New(fault.NotFound, "group %s not found: `slipway iam group list` shows the groups", state.Shorten(name))
	}
	return g, err
}

func applyGroupCreate(tx *state.Tx, index uint64, c *command.Command, p GroupCreatePayload) (any, error) {
	if _, ok, err := state.Get[Group](tx, bucketGroups, p.Name); err != nil || ok {
		if err == nil {
			err = fault.New(fault.Conflict, "group %s already exists", p.Name)
		}
		return nil, err
	}
	g := Group{Name: p.Name, Description: p.Description, CreateTime: c.Time, CreateIndex: index, ModifyIndex: index}
	if err := state.Put(tx, bucketGroups, g.Name, g); err != nil {
		return nil, err
	}
	return g, bump(tx, index)
}

// applyGroupDelete deletes a group and takes its members out of it.
func applyGroupDelete(tx *state.Tx, index uint64, _ *command.Command, p NamePayload) (any, error) {
	if _, err := getGroup(tx, p.Name); err != nil {
		return nil, err
	}
	var members []User
	if err := eachRecord(tx, bucketUsers, func(u User) {
		if slices.Contains(u.Groups, p.Name) {
			members = append(members, u)
		}
	}); err != nil {
		return nil, err
	}
	for _, u := range members {
		u.Groups = slices.DeleteFunc(u.Groups, func(g string) bool { return g == p.Name })
		if _, err := putUser(tx, index, u); err != nil {
			return nil, err
		}
	}
	if err := state.Delete(tx, bucketGroups, p.Name); err != nil {
		return nil, err
	}
	return nil, bump(tx, index)
}

// applyGroupMember adds a user to a group or removes them; adding a member twice or removing a
// non-member changes nothing.
func applyGroupMember(tx *state.Tx, index uint64, _ *command.Command, p GroupMemberPayload) (any, error) {
	if _, err := getGroup(tx, p.Group); err != nil {
		return nil, err
	}
	u, err := getUser(tx, p.User)
	if err != nil {
		return nil, err
	}
	has := slices.Contains(u.Groups, p.Group)
	switch {
	case p.Add && !has:
		if len(u.Groups) >= MaxGroupsPerUser {
			return nil, fault.New(fault.Invalid, "user %s is in %d groups, the most one user may be in", u.Name, len(u.Groups))
		}
		u.Groups = append(u.Groups, p.Group)
		slices.Sort(u.Groups)
	case !p.Add && has:
		u.Groups = slices.DeleteFunc(u.Groups, func(g string) bool { return g == p.Group })
	default:
		return u, nil
	}
	return putUser(tx, index, u)
}
