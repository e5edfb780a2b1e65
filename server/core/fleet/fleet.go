// Package fleet is the Go API of the core's hosts and their registration tokens: the HTTP
// handlers (server/core/api), and later the web console and services, list, read, tag and
// delete hosts and create, read and revoke registration tokens through it, so the rules live
// here once. Hosts are core: authentication and agent sessions need them.
//
// Writes replicate through the cluster (command.Propose with the core's typed commands; ctx
// carries the idempotency key, see command.WithRequestID); reads are this server's state.
package fleet

import "github.com/slipwayhq/slipway/server/core/state"

// Reader reads the state (the *state.Store).
type Reader interface {
	View(func(*state.Tx) error) error
}
