package kv

import "github.com/slipwayhq/slipway/server/core/command"

// The store's commands, numbered in the service's range. Their numbers, names, schema versions
// and payload JSON are part of the Raft log format: never change them.
var (
	cmdPut    = command.Define[PutPayload](1000, "kv.put", 1)
	cmdDelete = command.Define[DeletePayload](1001, "kv.delete", 1)
)

// PutPayload writes a key's value. CAS, when set, is a precondition: 0 means the key must not
// exist (create only); N means its modify index must still be N. Without CAS the write is
// unconditional.
type PutPayload struct {
	Key   string  `json:"key"`
	Value []byte  `json:"value"`
	CAS   *uint64 `json:"cas,omitempty"`
}

// DeletePayload deletes a key. CAS, when set, is a precondition: the key's modify index must
// still be it.
type DeletePayload struct {
	Key string  `json:"key"`
	CAS *uint64 `json:"cas,omitempty"`
}
