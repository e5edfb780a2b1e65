// Package api is Slipway's public HTTP API: the wire types of every /v1 endpoint and a Go client
// for them. The slipway CLI uses nothing else to talk to a cluster, and other programs may import
// it; it imports nothing from the server, the agent or any internal package.
//
// Conventions every endpoint follows:
//   - JSON request and response bodies; unknown request fields are refused with 400.
//   - Every endpoint except GET /v1/health and POST /v1/acl/bootstrap needs
//     "Authorization: Bearer <secret>".
//   - Errors are {"error":{"code":"...","message":"..."}} with a matching HTTP status (see Error).
//   - Writes may be sent to any server; a follower forwards them to the leader. A write carrying an
//     Idempotency-Key header is applied at most once per key (for an hour), and a repeated request
//     with the same key gets the first answer again, so clients may retry writes safely.
//   - Reads are served from the local server's state; ?consistent=true makes them linearizable.
//   - List endpoints take ?limit=N&next=TOKEN and answer with the items and, when more remain, the
//     token of the next page.
package api
