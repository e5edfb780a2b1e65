package secrets

import (
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// staleWrite ends the message of the conflict a put gets when another write came between the
// proposer's read and this apply: the service recognises it, seals for the new version and
// retries (a caller's CAS conflicts never end so).
const staleWrite = "changed while this write was being sealed"

// applyPut writes a secret's next version. It checks everything before writing (a refused put
// changes nothing): the name, sealed value and description bounds, the CAS precondition, that the
// value was sealed for this life and version of the secret, and, for a new secret, the maximum
// of secrets. The record keeps its create index, time and writer across versions; the rest is
// the command's: its index, its time (the proposer's clock) and its caller.
func applyPut(tx *state.Tx, index uint64, c *command.Command, p PutPayload) (any, error) {
	if err := ValidateName(p.Name); err != nil {
		return nil, err
	}
	if err := checkPut(p); err != nil {
		return nil, err
	}
	old, exists, err := getSecret(tx, p.Name)
	if err != nil {
		return nil, err
	}
	if err := checkCAS(p.Name, p.CAS, old, exists); err != nil {
		return nil, err
	}
	if exists && (p.ID != old.ID || p.Version != old.Version+1) || !exists && p.Version != 1 {
		return nil, fault.New(fault.Conflict, "secret %s %s", state.Shorten(p.Name), staleWrite)
	}
	who := writer(c)
	s := Secret{Name: p.Name, ID: p.ID, Version: p.Version, Sealed: p.Sealed,
		CreateIndex: index, ModifyIndex: index, CreateTime: c.Time, ModifyTime: c.Time, CreatedBy: who, ModifiedBy: who}
	if p.Description != nil {
		s.Description = *p.Description
	}
	if exists {
		s.CreateIndex, s.CreateTime, s.CreatedBy = old.CreateIndex, old.CreateTime, old.CreatedBy
		if p.Description == nil {
			s.Description = old.Description
		}
	} else if n := count(tx); n >= MaxSecrets {
		return nil, fault.New(fault.Conflict, "the cluster already holds its maximum of %d secrets: delete secrets that are no longer needed before adding %s", MaxSecrets, state.Shorten(p.Name))
	}
	if err := putSecret(tx, s, !exists); err != nil {
		return nil, err
	}
	s.Sealed = nil // the answer (kept with the request id) carries the record, not the value
	return s, nil
}

// checkPut checks what a put carries besides its name: an ID of 32 lowercase hex digits, a
// version, a sealed value of a size a value of at most MaxValueLen seals to, a description
// within bounds.
func checkPut(p PutPayload) error {
	if !validID(p.ID) {
		return fault.New(fault.Invalid, "secret %s: id %s is not 32 lowercase hex digits", state.Shorten(p.Name), state.Shorten(p.ID))
	}
	if p.Version == 0 {
		return fault.New(fault.Invalid, "secret %s: versions start at 1", state.Shorten(p.Name))
	}
	if len(p.Sealed) == 0 || len(p.Sealed) > maxSealedLen {
		return fault.New(fault.TooLarge, "secret %s: a sealed value of %d bytes; a value of at most %d bytes seals to at most %d", state.Shorten(p.Name), len(p.Sealed), MaxValueLen, maxSealedLen)
	}
	if p.Description != nil {
		return validateDescription(*p.Description)
	}
	return nil
}

// validID reports whether id is 32 lowercase hex digits, the form the service makes.
func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if hex := '0' <= id[i] && id[i] <= '9' || 'a' <= id[i] && id[i] <= 'f'; !hex {
			return false
		}
	}
	return true
}

// writer names the command's caller as a record keeps it ("user/ana"), "" without one.
func writer(c *command.Command) string {
	if c.Caller == nil || c.Caller.Kind == "" {
		return ""
	}
	return c.Caller.Kind + "/" + c.Caller.Name
}

// applyDelete deletes a secret; a missing one is not found (or a conflict under a CAS).
func applyDelete(tx *state.Tx, _ uint64, _ *command.Command, p DeletePayload) (any, error) {
	if err := ValidateName(p.Name); err != nil {
		return nil, err
	}
	old, exists, err := getSecret(tx, p.Name)
	if err != nil {
		return nil, err
	}
	if p.CAS != nil {
		if *p.CAS == 0 {
			return nil, fault.New(fault.Invalid, "cas=0 means create only, which a delete cannot be: give the secret's version")
		}
		if err := checkCAS(p.Name, p.CAS, old, exists); err != nil {
			return nil, err
		}
	}
	if !exists {
		return nil, fault.New(fault.NotFound, "secret %s not found", state.Shorten(p.Name))
	}
	return nil, deleteSecret(tx, p.Name)
}

// checkCAS checks a write's precondition against the secret's record: none (nil) always holds;
// 0 holds while the secret does not exist; N holds while it exists at version N.
func checkCAS(name string, cas *uint64, old Secret, exists bool) error {
	switch {
	case cas == nil:
		return nil
	case *cas == 0 && exists:
		return fault.New(fault.Conflict, "secret %s already exists (version %d); cas=0 writes only a secret that does not", state.Shorten(name), old.Version)
	case *cas == 0:
		return nil
	case !exists:
		return fault.New(fault.Conflict, "secret %s does not exist, so its version is not %d: it was deleted, or never written", state.Shorten(name), *cas)
	case old.Version != *cas:
		return fault.New(fault.Conflict, "secret %s is at version %d, not %d: read it again and retry", state.Shorten(name), old.Version, *cas)
	}
	return nil
}

// applyReseal replaces the sealed value of a secret still at the payload's ID and version; the
// version, indexes, times and writers stay, since the value did not change.
func applyReseal(tx *state.Tx, _ uint64, _ *command.Command, p ResealPayload) (any, error) {
	if err := ValidateName(p.Name); err != nil {
		return nil, err
	}
	if err := checkPut(PutPayload{Name: p.Name, ID: p.ID, Version: p.Version, Sealed: p.Sealed}); err != nil {
		return nil, err
	}
	old, exists, err := getSecret(tx, p.Name)
	if err != nil {
		return nil, err
	}
	if !exists || old.ID != p.ID || old.Version != p.Version {
		return nil, fault.New(fault.Conflict, "secret %s is no longer at version %d: its value was replaced (or deleted) since it was read to be resealed", state.Shorten(p.Name), p.Version)
	}
	old.Sealed = p.Sealed
	return nil, putSecret(tx, old, false)
}
