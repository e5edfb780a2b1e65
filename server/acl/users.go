package acl

import (
	"context"
	"net/mail"

	"github.com/google/uuid"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/credential"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

func validateEmail(email string) error {
	if email == "" {
		return nil
	}
	if err := state.ValidateLabel("email", email, true); err != nil {
		return err
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return fault.New(fault.Invalid, "email %s is not an address such as ana@example.com", state.Shorten(email))
	}
	return nil
}

// hashNewPassword checks a new password against the policy and hashes it.
func hashNewPassword(pw string) (string, error) {
	if err := credential.CheckPassword(pw); err != nil {
		return "", fault.New(fault.Invalid, "%v", err) // the caller's mistake, not the server's
	}
	h, err := credential.HashPassword(pw)
	if err != nil {
		return "", fault.New(fault.Internal, "hash the password: %v", err)
	}
	return h, nil
}

// CreateUser creates a user, with a password when one is given.
func (s *Identity) CreateUser(ctx context.Context, req pub.UserCreateRequest) (pub.User, error) {
	if err := state.ValidateName("user name", req.Name); err != nil {
		return pub.User{}, err
	}
	if req.DisplayName != "" {
		if err := state.ValidateLabel("display name", req.DisplayName, true); err != nil {
			return pub.User{}, err
		}
	}
	if err := validateEmail(req.Email); err != nil {
		return pub.User{}, err
	}
	p := UserCreatePayload{ID: uuid.NewString(), Name: req.Name, DisplayName: req.DisplayName, Email: req.Email}
	if req.Password != "" {
		h, err := hashNewPassword(req.Password)
		if err != nil {
			return pub.User{}, err
		}
		p.PasswordHash = h
	}
	return userResult(propose(ctx, s, CmdUserCreate, p))
}

func userResult(res command.Result, err error) (pub.User, error) {
	if err != nil {
		return pub.User{}, err
	}
	u, err := command.Data[User](res)
	return UserView(u), err
}

// UserView is how the API shows a user: never a password hash, MFA secret or recovery code.
func UserView(u User) pub.User {
	return pub.User{ID: u.ID, Name: u.Name, DisplayName: u.DisplayName, Email: u.Email, HasPassword: u.PasswordHash != "",
		MFAEnabled: u.Enabled(), Groups: u.Groups, Policies: u.Policies, LockedUntil: u.LockedUntil,
		CreateTime: u.CreateTime, CreateIndex: u.CreateIndex, ModifyIndex: u.ModifyIndex}
}

// User returns one user's record.
func (s *Identity) User(name string) (User, error) {
	var u User
	err := s.view(func(tx *state.Tx) error {
		var err error
		u, err = getUser(tx, name)
		return err
	})
	return u, err
}

// FreshUser returns one user's record as the cluster has it now: after a consistent read, so a
// write that depends on what an earlier request changed (confirming the enrolment just made
// through another server) sees it.
func (s *Identity) FreshUser(ctx context.Context, name string) (User, error) {
	if err := s.core.Cluster.ConsistentRead(ctx); err != nil {
		return User{}, err
	}
	return s.User(name)
}

// GetUser returns one user as the API shows it.
func (s *Identity) GetUser(_ context.Context, name string) (pub.User, error) {
	u, err := s.User(name)
	return UserView(u), err
}

// ListUsers returns a page of users in name order.
func (s *Identity) ListUsers(_ context.Context, page api.Page) ([]pub.User, string, error) {
	var out []pub.User
	var next string
	err := s.view(func(tx *state.Tx) error {
		list, n, err := state.List[User](tx, bucketUsers, page.After, page.Limit, nil)
		for _, u := range list {
			out = append(out, UserView(u))
		}
		next = n
		return err
	})
	return out, next, err
}

// UpdateUser changes a user's display name or email.
func (s *Identity) UpdateUser(ctx context.Context, name string, req pub.UserUpdateRequest) (pub.User, error) {
	if req.DisplayName != nil && *req.DisplayName != "" {
		if err := state.ValidateLabel("display name", *req.DisplayName, true); err != nil {
			return pub.User{}, err
		}
	}
	if req.Email != nil {
		if err := validateEmail(*req.Email); err != nil {
			return pub.User{}, err
		}
	}
	return userResult(propose(ctx, s, CmdUserUpdate, UserUpdatePayload{Name: name, DisplayName: req.DisplayName, Email: req.Email}))
}

// DeleteUser deletes a user, their tokens, sessions and SSH keys.
func (s *Identity) DeleteUser(ctx context.Context, name string) error {
	_, err := propose(ctx, s, CmdUserDelete, NamePayload{Name: name})
	return err
}

// SetPassword sets a user's password. When the caller is that user (a session or personal token
// of theirs), the current password must be given; the user's other sessions end either way.
func (s *Identity) SetPassword(ctx context.Context, name string, req pub.PasswordRequest, caller *auth.Identity) error {
	u, err := s.FreshUser(ctx, name)
	if err != nil {
		return err
	}
	keep := ""
	if caller != nil && caller.Token.User == name {
		if u.PasswordHash != "" {
			ok, _, _ := credential.VerifyPassword(u.PasswordHash, req.CurrentPassword)
			if !ok {
				return fault.New(fault.Forbidden, "the current password is wrong: give it in current_password to change your own password")
			}
		}
		keep = caller.Token.AccessorID
	}
	h, err := hashNewPassword(req.Password)
	if err != nil {
		return err
	}
	_, err = propose(ctx, s, CmdUserPassword, UserPasswordPayload{Name: name, PasswordHash: h, RevokeSessions: true, KeepSession: keep})
	return err
}

// Unlock lifts a sign-in lock.
func (s *Identity) Unlock(ctx context.Context, name string) error {
	_, err := propose(ctx, s, CmdUserLock, UserLockPayload{Name: name})
	return err
}
