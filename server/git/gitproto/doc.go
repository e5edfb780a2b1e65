// Package gitproto parses and writes the parts of git's wire protocols that Slipway reads
// before, or beside, the real git: pkt-lines, the Git-Protocol header, smart-HTTP paths,
// repository and ref names, the head of a receive-pack request (its command list and push
// options) and the hook side of the proc-receive protocol.
//
// It does no I/O beyond the io.Reader and io.Writer it is given and never runs git. Every
// parser takes bytes from the network or from git and is bounded: each has a fuzz target, and
// each refuses input it does not understand with an error that says what was wrong, rather
// than guessing. The bytes themselves (packs, negotiation) are git's business and are passed
// through untouched.
package gitproto
