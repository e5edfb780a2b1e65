package acl

import (
	"slices"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

func applyMFAEnroll(tx *state.Tx, index uint64, _ *command.Command, p MFAEnrollPayload) (any, error) {
	u, err := getUser(tx, p.Name)
	if err != nil {
		return nil, err
	}
	if u.Enabled() {
		return nil, fault.New(fault.Conflict, "user %s already has MFA enabled: disable it first (`slipway iam mfa disable`)", u.Name)
	}
	u.MFA = &MFA{SealedSecret: p.SealedSecret}
	return putUser(tx, index, u)
}

func applyMFAConfirm(tx *state.Tx, index uint64, _ *command.Command, p MFAConfirmPayload) (any, error) {
	u, err := getUser(tx, p.Name)
	if err != nil {
		return nil, err
	}
	if u.MFA == nil || u.MFA.Confirmed {
		return nil, fault.New(fault.Conflict, "user %s has no MFA enrolment waiting for confirmation: `slipway iam mfa enable` starts one", u.Name)
	}
	u.MFA.Confirmed, u.MFA.LastCounter, u.MFA.RecoveryHashes = true, p.Counter, p.RecoveryHashes
	return putUser(tx, index, u)
}

func applyMFADisable(tx *state.Tx, index uint64, _ *command.Command, p NamePayload) (any, error) {
	u, err := getUser(tx, p.Name)
	if err != nil {
		return nil, err
	}
	if u.MFA == nil {
		return nil, fault.New(fault.NotFound, "user %s has no MFA device", u.Name)
	}
	u.MFA = nil
	return putUser(tx, index, u)
}

// applyMFAUse consumes a second factor: a TOTP time step newer than the last one accepted, or an
// unused recovery code. A replayed code is refused here, on every server alike.
func applyMFAUse(tx *state.Tx, index uint64, _ *command.Command, p MFAUsePayload) (any, error) {
	u, err := getUser(tx, p.Name)
	if err != nil {
		return nil, err
	}
	if !u.Enabled() {
		return nil, fault.New(fault.Invalid, "user %s has no MFA enabled", u.Name)
	}
	switch {
	case p.RecoveryHash != "":
		i := slices.Index(u.MFA.RecoveryHashes, p.RecoveryHash)
		if i < 0 {
			return nil, fault.New(fault.Unauthorized, "the recovery code is not valid or was already used")
		}
		u.MFA.RecoveryHashes = slices.Delete(u.MFA.RecoveryHashes, i, i+1)
	case p.Counter <= u.MFA.LastCounter:
		return nil, fault.New(fault.Unauthorized, "that MFA code was already used: wait for the next one")
	default:
		u.MFA.LastCounter = p.Counter
	}
	return putUser(tx, index, u)
}
