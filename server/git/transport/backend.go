package transport

import (
	"context"

	"github.com/slipwayhq/slipway/server/core/auth"
)

// Repo is a repository as the transport serves it: its stable ID (directory names use it, a
// rename does not move it), its current name and the path of this server's bare copy.
type Repo struct{ ID, Name, Dir string }

// RefUpdate is one ref a push changes: Old and New are 40-hex object IDs, the zero ID
// (40 '0') for a ref created (Old) or deleted (New).
type RefUpdate struct{ Ref, Old, New string }

// RefResult is one ref's outcome, in the order of the push's updates: OK, or Reason in git's
// words ("fetch first" for a failed compare-and-swap: git prints its pull hint for it).
type RefResult struct {
	Ref    string
	OK     bool
	Reason string
}

// Push is one push's ref updates, committed as ONE replicated command.
type Push struct {
	Repo    Repo
	Pack    string // sha256 of the pack blob StorePack stored ("" when the push brought no objects)
	Updates []RefUpdate
	Atomic  bool           // all or nothing (git push --atomic)
	Caller  *auth.Identity // who pushes, for the audit trail and the command's caller
	// Options are the push options (`git push -o`), in the client's order, bounded by
	// Config.Limits before git ran; the command and its audit record carry them.
	Options []string
	// ViaPullRequest is set by the pull-request service for a merge it publishes: a branch
	// protection rule that requires pull requests lets only such moves through. Pushes and
	// PutFile leave it false.
	ViaPullRequest bool
	// ObjectDir is a temporary object directory holding the push's new objects when this
	// server's copy does not have them yet (PutFile and merges build their commit there); the
	// branch protection's ancestry check reads it with the copy as its alternate. "" for a
	// push through the transport, whose objects receive-pack has already moved into the copy.
	ObjectDir string
}

// Backend is what the transport needs from the git service: the repositories, the pack
// blobs and the replicated ref updates. The git module implements it.
type Backend interface {
	// Repo resolves a repository by name. For serving reads and for the receive-pack
	// advertisement, the local bare copy must first have caught up with the replicated refs as
	// of this call (a fetch through any server right after a push acknowledged through another
	// one sees that push): it waits for that, bounded by ctx. Unknown name: fault.NotFound.
	Repo(ctx context.Context, name string) (Repo, error)
	// StorePack stores the pack file at path (a quarantined, self-contained pack) as a
	// quorum-replicated blob (core Blobs.Upload) and returns its sha256. Bounded by the push
	// size limit (fault.TooLarge).
	StorePack(ctx context.Context, repo Repo, path string) (string, error)
	// Push proposes the updates as one Raft command and returns when it is committed and
	// applied on this server, with every ref's outcome. An error (lost quorum, deadline) means
	// the outcome is unknown: the transport reports every ref rejected with the error's message.
	//
	// ctx is the push request's write context (api.Kit.WriteContext: the server's write
	// timeout from the proposal on, the request id), and carries the command caller the API
	// edge set (command.WithCaller), so the command's audit record is the push's: the
	// transport records only the git requests that never reach Push.
	Push(ctx context.Context, p Push) ([]RefResult, error)
}
