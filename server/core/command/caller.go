package command

import (
	"context"
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// Caller is who made the request a command comes from, as the audit trail records it. The API
// edge puts it in the request's context once the request is authorized (WithCaller);
// raftstore.Node.Apply copies it into every command proposed under that context, so the FSM can
// append the audit record of the change in the same transaction that makes it. It holds names
// only, never a secret or a request body.
type Caller struct {
	Kind string // the principal's kind, audit.Kind spelled as a string: "user", "token", "role", ...
	ID   string // the principal's stable id (a user's id, a token's accessor)
	Name string // the principal's name when the request was made

	Action   string // the route's policy action, e.g. "deploy:CreateApplication"
	Resource string // the full resource name acted on
	Source   string // the client's address

	RequestID string // the HTTP request's id (X-Request-Id)
}

// Bounds of a caller block in the log: each field at most maxCallerField bytes (longer values are
// cut by Encode at a character boundary; the audit record cuts them further), the whole block
// at most maxCallerBlock bytes. Decode refuses anything larger.
const (
	maxCallerField = 1024
	callerFields   = 7
	maxCallerBlock = callerFields * (2 + maxCallerField)
)

type callerKey struct{}

// WithCaller returns ctx carrying c: commands proposed under it carry c (raftstore.Node.Apply).
// A nil c leaves ctx as it is.
func WithCaller(ctx context.Context, c *Caller) context.Context {
	if c == nil {
		return ctx
	}
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller ctx carries, nil when none.
func CallerFrom(ctx context.Context) *Caller {
	c, _ := ctx.Value(callerKey{}).(*Caller)
	return c
}

// fields lists the caller's fields in their encoded order. Never reorder: it is the log format.
func (c *Caller) fields() [callerFields]*string {
	return [callerFields]*string{&c.Kind, &c.ID, &c.Name, &c.Action, &c.Resource, &c.Source, &c.RequestID}
}

// appendCaller appends c's block: uvarint(block length), then each field as uvarint(length)
// and its bytes, fields cut to maxCallerField. It writes into out directly (no block buffer).
func appendCaller(out []byte, c *Caller) []byte {
	var fields [callerFields]string
	n := 0
	for i, f := range c.fields() {
		fields[i] = cutField(*f)
		n += uvarintLen(uint64(len(fields[i]))) + len(fields[i])
	}
	out = binary.AppendUvarint(out, uint64(n))
	for _, v := range fields {
		out = binary.AppendUvarint(out, uint64(len(v)))
		out = append(out, v...)
	}
	return out
}

func uvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

// cutField cuts s to maxCallerField bytes at a character boundary of valid UTF-8 (it does not
// clean the value: the audit record's Bound does).
func cutField(s string) string {
	if len(s) <= maxCallerField {
		return s
	}
	n := maxCallerField
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// readCaller reads a caller block at the start of b and returns the caller and the bytes after
// the block. Every length must be minimally encoded and within its bound, and the fields must
// fill the block exactly, so what it accepts encodes back to the same bytes.
func readCaller(b []byte) (*Caller, []byte, error) {
	n, k := uvarint(b)
	if k <= 0 || n > maxCallerBlock || n > uint64(len(b)-k) {
		return nil, nil, fmt.Errorf("%w: caller block length is invalid", ErrMalformed)
	}
	block, rest := string(b[k:k+int(n)]), b[k+int(n):] // one copy; the fields share it
	c := &Caller{}
	for i, f := range c.fields() {
		l, k := uvarint([]byte(block[:min(len(block), binary.MaxVarintLen64)]))
		if k <= 0 || l > maxCallerField || l > uint64(len(block)-k) {
			return nil, nil, fmt.Errorf("%w: caller field %d has a bad length", ErrMalformed, i)
		}
		*f = block[k : k+int(l)]
		block = block[k+int(l):]
	}
	if len(block) != 0 {
		return nil, nil, fmt.Errorf("%w: caller block has %d bytes after its fields", ErrMalformed, len(block))
	}
	return c, rest, nil
}

// uvarint is binary.Uvarint that also refuses a non-minimal encoding (k <= 0).
func uvarint(b []byte) (uint64, int) {
	v, k := binary.Uvarint(b)
	if k <= 0 {
		return 0, -1
	}
	var buf [binary.MaxVarintLen64]byte
	if binary.PutUvarint(buf[:], v) != k {
		return 0, -1
	}
	return v, k
}
