package command

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Def is a command type with its payload type T: services define each of their commands once, as
// a package-level variable, and build and decode it only through the Def, so no code decodes a
// payload by hand and no payload can be proposed under another command's number.
//
//	var CmdAppCreate = command.Define[AppCreatePayload](20, "app.create", 1)
//
// The number, the name and T's JSON encoding are part of the log format: never renumber, rename,
// or change a field's JSON name; add a schema version (and apply older ones as they were applied)
// when a rule must change for new entries only.
type Def[T any] struct {
	typ     Type
	name    string
	version uint8
}

// Define declares a command type. Call it only to initialise a package-level variable: package
// initialisation is sequential, and the codec reads the table without a lock. It panics when the number or the name is already taken, or
// the version is 0: two services claiming one number would make the log ambiguous, and such a
// build must not start.
func Define[T any](t Type, name string, version uint8) Def[T] {
	if version == 0 {
		panic(fmt.Sprintf("command: %s: schema version 0 is reserved", name))
	}
	if old, ok := typeNames[t]; ok {
		panic(fmt.Sprintf("command: type %d is defined twice (%s and %s)", t, old, name))
	}
	for ot, on := range typeNames {
		if on == name {
			panic(fmt.Sprintf("command: name %s is defined twice (types %d and %d)", name, ot, t))
		}
	}
	typeNames[t] = name
	schemaVersions[t] = version
	return Def[T]{typ: t, name: name, version: version}
}

// Type is the command's number.
func (d Def[T]) Type() Type { return d.typ }

// Name is the command's name ("app.create"): the event kind and operation it publishes.
func (d Def[T]) Name() string { return d.name }

// Version is the newest payload schema version this binary writes and understands.
func (d Def[T]) Version() uint8 { return d.version }

// New builds a command of this type at the newest schema version.
func (d Def[T]) New(requestID string, now time.Time, payload T) (*Command, error) {
	return New(d.typ, requestID, now, payload)
}

// Decode decodes c's payload strictly (see DecodePayload). c must be of this type.
func (d Def[T]) Decode(c *Command) (T, error) {
	var p T
	if c.Type != d.typ {
		return p, fmt.Errorf("%w: %s decoded as %s", ErrMalformed, c.Type, d.name)
	}
	err := DecodePayload(c, &p)
	return p, err
}

// Range is a block of command numbers reserved for one service. Numbers below 256 were given out
// before services had ranges and stay where they are; each service names the ones it owns as
// ranges of their own.
type Range struct{ First, Last Type }

// Contains reports whether t is in the range.
func (r Range) Contains(t Type) bool { return t >= r.First && t <= r.Last }

func (r Range) String() string { return fmt.Sprintf("%d-%d", r.First, r.Last) }

// Known reports whether t is a defined command type.
func Known(t Type) bool {
	_, ok := typeNames[t]
	return ok
}

// Info describes one defined command type.
type Info struct {
	Type    Type
	Name    string
	Version uint8
}

// Defined lists every command type this binary knows, by number: the log format's table of
// contents, which a test pins so that no number, name or version changes by accident.
func Defined() []Info {
	out := make([]Info, 0, len(typeNames))
	for t, n := range typeNames {
		out = append(out, Info{Type: t, Name: n, Version: schemaVersions[t]})
	}
	slices.SortFunc(out, func(a, b Info) int { return cmp.Compare(a.Type, b.Type) })
	return out
}
