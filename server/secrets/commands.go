package secrets

import "github.com/slipwayhq/slipway/server/core/command"

// The store's commands, numbered in the service's range. Their numbers, names, schema versions
// and payload JSON are part of the Raft log format: never change them.
var (
	cmdPut    = command.Define[PutPayload](1600, "secrets.put", 1)
	cmdDelete = command.Define[DeletePayload](1601, "secrets.delete", 1)
	cmdReseal = command.Define[ResealPayload](1602, "secrets.reseal", 1)
)

// PutPayload writes a secret's next version. The proposer sealed the value (Sealed, keyring.Ring.Seal
// with sealAAD(Name, ID, Version)) before building the command: no plaintext is ever in the log.
//
// ID names this life of the secret (random, 32 hex digits): chosen by the proposer when it
// creates the secret, the record's ID on every later version. Version is the version the value
// was sealed for: 1 for a new secret, the record's version plus one otherwise. A command whose ID
// or Version no longer fits the record (another write came between the proposer's read and
// this apply) is a conflict; the service seals again and retries.
//
// CAS, when set, is the caller's precondition on the version: 0 means the secret must not exist
// (create only); N means its version must still be N. Description nil keeps the record's.
type PutPayload struct {
	Name        string  `json:"name"`
	ID          string  `json:"id"`
	Version     uint64  `json:"version"`
	Sealed      []byte  `json:"sealed"`
	Description *string `json:"description,omitempty"`
	CAS         *uint64 `json:"cas,omitempty"`
}

// DeletePayload deletes a secret. CAS, when set, is a precondition: its version must still be it.
type DeletePayload struct {
	Name string  `json:"name"`
	CAS  *uint64 `json:"cas,omitempty"`
}

// ResealPayload replaces the sealed form of a secret's current value with the same value sealed
// under another data key (the active one, after a keyring rotation), for the same name, ID and
// version (so the same additional data). It applies only while the secret is still at that ID
// and version: a newer value was sealed under the key active when it was written.
type ResealPayload struct {
	Name    string `json:"name"`
	ID      string `json:"id"`
	Version uint64 `json:"version"`
	Sealed  []byte `json:"sealed"`
}
