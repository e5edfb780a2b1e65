// Package policy is Slipway's IAM-style policy language: parsing (JSON or YAML, AWS's
// identity-policy shape), checking with diagnostics by field path, compiling, and evaluating a
// request against a principal's policies in AWS's order (explicit Deny, then Allow, otherwise
// implicit deny). It also holds the built-in managed policies.
//
// The package is pure: no I/O, no clock, no global state but the managed-policy table. It
// knows no service and no route: actions are "service:Name" strings and resources are strings
// in whatever spelling the caller uses ("app/shop/group/web" or
// "srn:slipway:codedeploy:app/shop"), so the API edge decides both.
//
// Lifecycle: Parse a stored document once (or build a Document in Go), Compile it under a name,
// keep the *Policy, and call Evaluate per request with the principal's policies. Evaluate
// allocates nothing.
package policy
