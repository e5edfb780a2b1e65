package fsm

import (
	"fmt"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Handler applies one command inside the state transaction. It must validate before writing, so
// that a returned error leaves the state as it was, and it may read only the command and the
// state (see the package comment).
type Handler func(tx *state.Tx, index uint64, c *command.Command) (any, error)

// Apply is a typed handler: the FSM decodes the payload (strictly) before calling it, so no
// handler decodes its own. index is the command's own state index; c carries the proposer's time
// and request ID.
type Apply[T any] func(tx *state.Tx, index uint64, c *command.Command, p T) (any, error)

// Table maps every command type this server applies to its handler. The server builds it once,
// from the core's commands and each service's registration, before Raft replays the log.
type Table struct {
	h      map[command.Type]Handler
	before map[command.Type][]Handler
}

// NewTable returns a table with the core's own commands (noop, cluster.init, node.register).
func NewTable() *Table {
	t := &Table{h: map[command.Type]Handler{}, before: map[command.Type][]Handler{}}
	registerCore(t)
	return t
}

// On registers the handler of a command type. It panics when the type already has one: two
// handlers for one command would make apply depend on registration order.
func On[T any](t *Table, d command.Def[T], apply Apply[T]) {
	t.add(d.Type(), func(tx *state.Tx, index uint64, c *command.Command) (any, error) {
		p, err := d.Decode(c)
		if err != nil {
			return nil, err
		}
		return apply(tx, index, c, p)
	})
}

// Check is a typed veto another module puts on a command: it runs inside the same transaction,
// before the command's handler, and an error refuses the command with nothing written. It may
// only read. This is how a service reacts to a change another owns without either importing the
// other (the core refuses to delete a host a deployment still runs on through the deployments
// service's check), and it stays deterministic because it runs inside apply.
type Check[T any] func(tx *state.Tx, c *command.Command, p T) error

// Before registers a check on a command type, to run before its handler in registration order.
func Before[T any](t *Table, d command.Def[T], check Check[T]) {
	t.before[d.Type()] = append(t.before[d.Type()], func(tx *state.Tx, _ uint64, c *command.Command) (any, error) {
		p, err := d.Decode(c)
		if err != nil {
			return nil, err
		}
		return nil, check(tx, c, p)
	})
}

// handle runs a command's checks, then its handler.
func (t *Table) handle(tx *state.Tx, index uint64, c *command.Command) (any, error) {
	h, ok := t.h[c.Type]
	if !ok {
		return nil, fault.New(fault.Invalid, "command %s cannot be applied on its own", c.Type)
	}
	for _, check := range t.before[c.Type] {
		if _, err := check(tx, index, c); err != nil {
			return nil, err
		}
	}
	return h(tx, index, c)
}

func (t *Table) add(typ command.Type, h Handler) {
	if _, ok := t.h[typ]; ok {
		panic(fmt.Sprintf("fsm: command %s (%d) has two handlers", typ, typ))
	}
	if typ == command.TypeBatch {
		panic("fsm: a batch is unwrapped by the FSM, it has no handler")
	}
	t.h[typ] = h
}

// Types lists the command types the table applies (for registration checks and tests).
func (t *Table) Types() []command.Type {
	out := make([]command.Type, 0, len(t.h))
	for typ := range t.h {
		out = append(out, typ)
	}
	return out
}
