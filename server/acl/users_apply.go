package acl

import (
	"time"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

func getUser(tx *state.Tx, name string) (User, error) {
	u, ok, err := state.Get[User](tx, bucketUsers, name)
	if err == nil && !ok {
		err = fault.New(fault.NotFound, "user %s not found: `slipway iam user list` shows the users", state.Shorten(name))
	}
	return u, err
}

func putUser(tx *state.Tx, index uint64, u User) (any, error) {
	u.ModifyIndex = index
	if err := state.Put(tx, bucketUsers, u.Name, u); err != nil {
		return nil, err
	}
	return u, bump(tx, index)
}

func applyUserCreate(tx *state.Tx, index uint64, c *command.Command, p UserCreatePayload) (any, error) {
	if _, ok, err := state.Get[User](tx, bucketUsers, p.Name); err != nil || ok {
		if err == nil {
			err = fault.New(fault.Conflict, "user %s already exists", p.Name)
		}
		return nil, err
	}
	u := User{ID: p.ID, Name: p.Name, DisplayName: p.DisplayName, Email: p.Email, PasswordHash: p.PasswordHash,
		CreateTime: c.Time, CreateIndex: index}
	return putUser(tx, index, u)
}

func applyUserUpdate(tx *state.Tx, index uint64, _ *command.Command, p UserUpdatePayload) (any, error) {
	u, err := getUser(tx, p.Name)
	if err != nil {
		return nil, err
	}
	if p.DisplayName != nil {
		u.DisplayName = *p.DisplayName
	}
	if p.Email != nil {
		u.Email = *p.Email
	}
	return putUser(tx, index, u)
}

// applyUserDelete deletes a user with their tokens, sessions and SSH keys.
func applyUserDelete(tx *state.Tx, index uint64, _ *command.Command, p NamePayload) (any, error) {
	if _, err := getUser(tx, p.Name); err != nil {
		return nil, err
	}
	if err := revokeTokens(tx, func(tk state.Token) bool { return tk.User == p.Name || tk.Source == KindUser+"/"+p.Name }); err != nil {
		return nil, err
	}
	var keys []string
	if err := eachRecord(tx, bucketSSHKeys, func(k SSHKey) {
		if k.User == p.Name {
			keys = append(keys, k.Fingerprint)
		}
	}); err != nil {
		return nil, err
	}
	for _, fp := range keys {
		if err := state.Delete(tx, bucketSSHKeys, fp); err != nil {
			return nil, err
		}
	}
	if err := state.Delete(tx, bucketUsers, p.Name); err != nil {
		return nil, err
	}
	return nil, bump(tx, index)
}

func applyUserPassword(tx *state.Tx, index uint64, _ *command.Command, p UserPasswordPayload) (any, error) {
	u, err := getUser(tx, p.Name)
	if err != nil {
		return nil, err
	}
	u.PasswordHash = p.PasswordHash
	if p.RevokeSessions {
		if err := revokeTokens(tx, func(tk state.Token) bool {
			return tk.Type == TokenTypeSession && tk.User == p.Name && tk.AccessorID != p.KeepSession
		}); err != nil {
			return nil, err
		}
	}
	return putUser(tx, index, u)
}

func applyUserLock(tx *state.Tx, index uint64, _ *command.Command, p UserLockPayload) (any, error) {
	u, err := getUser(tx, p.Name)
	if err != nil {
		return nil, err
	}
	u.LockedUntil = nil
	if p.Until != 0 {
		t := time.Unix(0, p.Until).UTC()
		u.LockedUntil = &t
	}
	return putUser(tx, index, u)
}
