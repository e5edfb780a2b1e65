package acl

import (
	"context"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/credential"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

func keyView(k SSHKey) pub.SSHKey {
	return pub.SSHKey{Fingerprint: k.Fingerprint, User: k.User, Type: k.Type, Bits: k.Bits, Comment: k.Comment, PublicKey: k.PublicKey, AddTime: k.AddTime}
}

// AddSSHKey adds an SSH public key (one authorized_keys line) to a user.
func (s *Identity) AddSSHKey(ctx context.Context, user string, req pub.SSHKeyAddRequest) (pub.SSHKey, error) {
	k, err := credential.ParseAuthorizedKey(req.PublicKey)
	if err != nil {
		return pub.SSHKey{}, fault.New(fault.Invalid, "%v", err)
	}
	res, err := propose(ctx, s, CmdSSHKeyAdd, SSHKeyAddPayload{User: user, Fingerprint: k.Fingerprint, Type: k.Type, Bits: k.Bits,
		Comment: k.Comment, PublicKey: k.AuthorizedKey()})
	if err != nil {
		return pub.SSHKey{}, err
	}
	rec, err := command.Data[SSHKey](res)
	return keyView(rec), err
}

// ListSSHKeys lists a user's keys.
func (s *Identity) ListSSHKeys(_ context.Context, user string) ([]pub.SSHKey, error) {
	out := []pub.SSHKey{}
	err := s.view(func(tx *state.Tx) error {
		if _, err := getUser(tx, user); err != nil {
			return err
		}
		return eachRecord(tx, bucketSSHKeys, func(k SSHKey) {
			if k.User == user {
				out = append(out, keyView(k))
			}
		})
	})
	return out, err
}

// RemoveSSHKey removes one of a user's keys by fingerprint.
func (s *Identity) RemoveSSHKey(ctx context.Context, user, fingerprint string) error {
	_, err := propose(ctx, s, CmdSSHKeyRemove, SSHKeyRemovePayload{User: user, Fingerprint: fingerprint})
	return err
}

// KeyOwner returns the user an SSH key (by SHA256 fingerprint) belongs to: how the git SSH
// server will know who pushes.
func (s *Identity) KeyOwner(fingerprint string) (string, error) {
	var k SSHKey
	err := s.view(func(tx *state.Tx) error {
		var ok bool
		var err error
		k, ok, err = state.Get[SSHKey](tx, bucketSSHKeys, fingerprint)
		if err == nil && !ok {
			err = fault.New(fault.NotFound, "no user has the SSH key %s", state.Shorten(fingerprint))
		}
		return err
	})
	return k.User, err
}
