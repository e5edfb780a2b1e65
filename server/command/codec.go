package command

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrMalformed wraps every decoding failure.
var ErrMalformed = errors.New("malformed command")

type wire struct {
	RID  string          `json:"rid,omitempty"`
	Time int64           `json:"time"`
	P    json.RawMessage `json:"p"`
}

// Encode returns the log bytes of c.
func Encode(c *Command) ([]byte, error) {
	if _, ok := typeNames[c.Type]; !ok {
		return nil, fmt.Errorf("encode: unknown command type %d", c.Type)
	}
	body, err := json.Marshal(wire{RID: c.RequestID, Time: c.Time.UnixNano(), P: c.Payload})
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", c.Type, err)
	}
	out := make([]byte, headerLen, headerLen+len(body))
	out[0] = codecVersion
	binary.BigEndian.PutUint16(out[1:3], uint16(c.Type))
	out[3] = c.Version
	out = append(out, body...)
	if len(out) > MaxEncodedSize {
		return nil, fmt.Errorf("encode %s: %d bytes is over the %d byte limit of one command", c.Type, len(out), MaxEncodedSize)
	}
	return out, nil
}

// Decode parses log bytes. It never panics; anything it cannot fully understand is an error
// wrapping ErrMalformed, including unknown types and payload schema versions newer than this
// binary knows (a node must not apply a command it does not understand).
func Decode(b []byte) (*Command, error) {
	if len(b) < headerLen {
		return nil, fmt.Errorf("%w: %d bytes is shorter than the header", ErrMalformed, len(b))
	}
	if len(b) > MaxEncodedSize {
		return nil, fmt.Errorf("%w: %d bytes is over the limit", ErrMalformed, len(b))
	}
	if b[0] != codecVersion {
		return nil, fmt.Errorf("%w: codec version %d is not supported (want %d); upgrade this node", ErrMalformed, b[0], codecVersion)
	}
	t := Type(binary.BigEndian.Uint16(b[1:3]))
	newest, ok := schemaVersions[t]
	if !ok {
		return nil, fmt.Errorf("%w: unknown command type %d; upgrade this node", ErrMalformed, t)
	}
	if b[3] == 0 || b[3] > newest {
		return nil, fmt.Errorf("%w: %s schema version %d is not supported (newest %d); upgrade this node", ErrMalformed, t, b[3], newest)
	}
	dec := json.NewDecoder(bytes.NewReader(b[headerLen:]))
	dec.DisallowUnknownFields()
	var w wire
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("%w: %s body: %w", ErrMalformed, t, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: %s body has trailing data", ErrMalformed, t)
	}
	if len(w.RID) > maxRequestIDLen {
		return nil, fmt.Errorf("%w: request id longer than %d bytes", ErrMalformed, maxRequestIDLen)
	}
	if len(w.P) == 0 || !json.Valid(w.P) {
		return nil, fmt.Errorf("%w: %s has no payload", ErrMalformed, t)
	}
	return &Command{Type: t, Version: b[3], RequestID: w.RID, Time: time.Unix(0, w.Time).UTC(), Payload: w.P}, nil
}

// DecodePayload decodes c's payload strictly into v: unknown fields are an error.
func DecodePayload(c *Command, v any) error {
	dec := json.NewDecoder(bytes.NewReader(c.Payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s payload: %w", ErrMalformed, c.Type, err)
	}
	return nil
}

// Batch is the payload of TypeBatch: encoded commands applied in order within one log entry.
type Batch struct {
	Commands [][]byte `json:"commands"`
}

// EncodeBatch wraps already-encoded commands into one batch command.
func EncodeBatch(encoded [][]byte) ([]byte, error) {
	c, err := New(TypeBatch, "", time.Unix(0, 0), Batch{Commands: encoded})
	if err != nil {
		return nil, err
	}
	return Encode(c)
}

// DecodeBatch returns the commands inside a batch. Nested batches are refused.
func DecodeBatch(c *Command) ([]*Command, error) {
	var b Batch
	if err := DecodePayload(c, &b); err != nil {
		return nil, err
	}
	if len(b.Commands) > MaxBatchLen {
		return nil, fmt.Errorf("%w: batch of %d commands is over the %d limit", ErrMalformed, len(b.Commands), MaxBatchLen)
	}
	out := make([]*Command, 0, len(b.Commands))
	for i, raw := range b.Commands {
		sub, err := Decode(raw)
		if err != nil {
			return nil, fmt.Errorf("batch entry %d: %w", i, err)
		}
		if sub.Type == TypeBatch {
			return nil, fmt.Errorf("%w: batch entry %d is itself a batch", ErrMalformed, i)
		}
		out = append(out, sub)
	}
	return out, nil
}
