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

const fixedHeader = 13 // codec, type(2), schema, time(8), rid length

// Encode returns the log bytes of c.
func Encode(c *Command) ([]byte, error) {
	if _, ok := typeNames[c.Type]; !ok {
		return nil, fmt.Errorf("encode: unknown command type %d", c.Type)
	}
	if len(c.RequestID) > maxRequestIDLen {
		return nil, fmt.Errorf("encode %s: request id longer than %d bytes", c.Type, maxRequestIDLen)
	}
	out := make([]byte, fixedHeader, fixedHeader+len(c.RequestID)+len(c.Payload))
	out[0] = codecVersion
	if c.Caller != nil {
		out[0] = codecVersionCaller
	}
	binary.BigEndian.PutUint16(out[1:3], uint16(c.Type))
	out[3] = c.Version
	binary.BigEndian.PutUint64(out[4:12], uint64(c.Time.UnixNano()))
	out[12] = byte(len(c.RequestID))
	out = append(out, c.RequestID...)
	if c.Caller != nil {
		out = appendCaller(out, c.Caller)
	}
	out = append(out, c.Payload...)
	if len(out) > MaxEncodedSize {
		return nil, fmt.Errorf("encode %s: %d bytes is over the %d byte limit of one command", c.Type, len(out), MaxEncodedSize)
	}
	return out, nil
}

// Decode parses log bytes. It never panics; anything it cannot fully understand is an error
// wrapping ErrMalformed, including unknown types and payload schema versions newer than this
// binary knows (a node must not apply a command it does not understand). The payload is checked
// when a handler decodes it (DecodePayload, DecodeBatch).
func Decode(b []byte) (*Command, error) {
	if len(b) < fixedHeader {
		return nil, fmt.Errorf("%w: %d bytes is shorter than the header", ErrMalformed, len(b))
	}
	if len(b) > MaxEncodedSize {
		return nil, fmt.Errorf("%w: %d bytes is over the limit", ErrMalformed, len(b))
	}
	if b[0] != codecVersion && b[0] != codecVersionCaller {
		return nil, fmt.Errorf("%w: codec version %d is not supported (want %d or %d); upgrade this node", ErrMalformed, b[0], codecVersion, codecVersionCaller)
	}
	t := Type(binary.BigEndian.Uint16(b[1:3]))
	newest, ok := schemaVersions[t]
	if !ok {
		return nil, fmt.Errorf("%w: unknown command type %d; upgrade this node", ErrMalformed, t)
	}
	if b[3] == 0 || b[3] > newest {
		return nil, fmt.Errorf("%w: %s schema version %d is not supported (newest %d); upgrade this node", ErrMalformed, t, b[3], newest)
	}
	n := int(b[12])
	if n > maxRequestIDLen || len(b) < fixedHeader+n {
		return nil, fmt.Errorf("%w: %s request id length %d is invalid", ErrMalformed, t, n)
	}
	payload := b[fixedHeader+n:]
	var caller *Caller
	if b[0] == codecVersionCaller {
		var err error
		if caller, payload, err = readCaller(payload); err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
	}
	if len(payload) == 0 && t != TypeBatch {
		return nil, fmt.Errorf("%w: %s has no payload", ErrMalformed, t)
	}
	return &Command{
		Type: t, Version: b[3], RequestID: string(b[fixedHeader : fixedHeader+n]),
		Time: time.Unix(0, int64(binary.BigEndian.Uint64(b[4:12]))).UTC(), Payload: payload, Caller: caller,
	}, nil
}

// DecodePayload decodes c's JSON payload strictly into v: unknown fields and trailing data are
// errors.
func DecodePayload(c *Command, v any) error {
	dec := json.NewDecoder(bytes.NewReader(c.Payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s payload: %w", ErrMalformed, c.Type, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: %s payload has trailing data", ErrMalformed, c.Type)
	}
	return nil
}

// EncodeBatch wraps already-encoded commands into one batch command.
func EncodeBatch(encoded [][]byte) ([]byte, error) {
	if len(encoded) > MaxBatchLen {
		return nil, fmt.Errorf("encode batch: %d commands is over the %d limit", len(encoded), MaxBatchLen)
	}
	size := 0
	for _, e := range encoded {
		size += binary.MaxVarintLen64 + len(e)
	}
	payload := make([]byte, 0, size)
	for _, e := range encoded {
		payload = binary.AppendUvarint(payload, uint64(len(e)))
		payload = append(payload, e...)
	}
	return Encode(&Command{Type: TypeBatch, Version: schemaVersions[TypeBatch], Time: time.Unix(0, 0), Payload: payload})
}

// DecodeBatch returns the commands inside a batch. Nested batches are refused.
func DecodeBatch(c *Command) ([]*Command, error) {
	var out []*Command
	rest := []byte(c.Payload)
	for len(rest) > 0 {
		if len(out) == MaxBatchLen {
			return nil, fmt.Errorf("%w: batch is over the %d command limit", ErrMalformed, MaxBatchLen)
		}
		l, k := binary.Uvarint(rest)
		if k <= 0 || l > uint64(len(rest)-k) {
			return nil, fmt.Errorf("%w: batch entry %d has a bad length", ErrMalformed, len(out))
		}
		sub, err := Decode(rest[k : k+int(l)])
		if err != nil {
			return nil, fmt.Errorf("batch entry %d: %w", len(out), err)
		}
		if sub.Type == TypeBatch {
			return nil, fmt.Errorf("%w: batch entry %d is itself a batch", ErrMalformed, len(out))
		}
		out = append(out, sub)
		rest = rest[k+int(l):]
	}
	return out, nil
}
