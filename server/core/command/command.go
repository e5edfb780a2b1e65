// Package command defines the typed, versioned commands that the control plane replicates through
// Raft, and their binary encoding.
//
// A command is proposed by the node that received a request. Everything non-deterministic (the
// time, generated IDs, hashes of secrets) is decided by the proposer and written into the command,
// so that applying the same log on every node gives the same state.
//
// Encoding (one Raft log entry), binary header then payload:
//
//	byte 0       codec version: 1, or 2 when the command carries its Caller
//	byte 1..2    command type, big endian
//	byte 3       payload schema version of that type
//	byte 4..11   proposer time, unix nanoseconds, big endian
//	byte 12      request id length n (at most 128)
//	byte 13..    request id (n bytes); in version 2 then the caller block (uvarint length,
//	             then seven fields Kind, ID, Name, Action, Resource, Source, RequestID, each a
//	             uvarint length and its bytes); then the payload
//
// A command without a Caller is encoded as version 1, byte for byte as before version 2 existed.
//
// The payload is a JSON object, except for a batch (TypeBatch), whose payload is a sequence of
// (uvarint length, encoded command) pairs applied in order within one log entry; batches do not
// nest.
package command

import (
	"github.com/slipwayhq/slipway/server/core/fault"

	"encoding/json"
	"time"
)

// Type identifies what a command does. Values are part of the log format: never renumber.
type Type uint16

// Command types.
const (
	TypeBatch           Type = 1
	TypeClusterInit     Type = 2
	TypeNodeRegister    Type = 3
	TypeNoop            Type = 4
	TypeBlobRegister    Type = 30
	TypeBlobDelete      Type = 31
	TypeHostTokenCreate Type = 50
	TypeHostRegister    Type = 51
	TypeHostDelete      Type = 52
	TypeHostTag         Type = 53
	TypeHostStatus      Type = 54
	TypeHostTokenRevoke Type = 55
	TypeKeyringAdd      Type = 80
	codecVersion        byte = 1
	codecVersionCaller  byte = 2       // version 1 plus the caller block after the request id
	MaxEncodedSize           = 4 << 20 // a single command; blobs never go through the log
	MaxBatchLen              = 4096
	maxRequestIDLen          = 128
)

// typeNames and schemaVersions are the table of every defined command type, filled by Define
// (and holding the batch, which has no payload type). A type's schema version is the newest its
// decoder understands: a handler may apply older versions differently (as they were applied when
// written); a bump is how a rule that must not change for entries already in the log is made to
// hold for new ones.
var typeNames = map[Type]string{
	TypeBatch: "batch",
}

var schemaVersions = map[Type]uint8{
	TypeBatch: 1,
}

func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return "unknown"
}

// Command is one decoded command.
type Command struct {
	Type      Type
	Version   uint8           // payload schema version
	RequestID string          // idempotency key: a command with a seen ID is not applied again
	Time      time.Time       // proposer's clock; the only time apply may use
	Payload   json.RawMessage // type-specific JSON
	// Caller is who made the request the command comes from (nil for the cluster's own work):
	// the FSM appends an audit record of the command's outcome when it is set.
	Caller *Caller
}

// New builds a command with the current schema version of t.
func New(t Type, requestID string, now time.Time, payload any) (*Command, error) {
	p, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	return &Command{Type: t, Version: schemaVersions[t], RequestID: requestID, Time: now.UTC(), Payload: p}, nil
}

// Result is the outcome of applying one command. It is what the proposer hands back to the
// client, possibly after crossing from the leader to a follower, so it is plain data.
type Result struct {
	Index   uint64          `json:"index"`
	Code    string          `json:"code,omitempty"` // fault code; empty on success
	Message string          `json:"message,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// Err returns the result's failure as a *fault.Error, or nil on success.
func (r Result) Err() error {
	if r.Code == "" {
		return nil
	}
	return &fault.Error{Code: fault.Code(r.Code), Message: r.Message}
}
