// Package credential holds the primitives behind a user's credentials: argon2id password
// hashes and the password policy, TOTP second factors with recovery codes and a terminal QR
// code for enrolment, SSH public keys from authorized_keys lines, and personal access tokens.
//
// Everything here is pure: no state, no I/O beyond crypto/rand, no clock of its own (callers pass
// `now`). The identity service decides what is stored where; this package decides what a
// credential looks like and how it is checked. See DESIGN.md.
package credential
