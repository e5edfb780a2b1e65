package git

import "github.com/slipwayhq/slipway/server/core/command"

// The service's commands, numbered in its range (1300-1399). Their numbers, names, schema
// versions and payload JSON are part of the Raft log format: never change them. The names
// start with "repo." so that their events are of kind "repo" (fsm.Event). Update and delete
// name the repository as the caller did and apply resolves the name (a caller's read of the
// name's ID could lag the state); a push names it by ID (the transport resolved it after a read
// barrier, and a repository deleted and created again under the name must not take the push).
var (
	cmdCreate = command.Define[CreatePayload](1300, "repo.create", 1)
	cmdUpdate = command.Define[UpdatePayload](1301, "repo.update", 1)
	cmdDelete = command.Define[DeletePayload](1302, "repo.delete", 1)
	cmdPush   = command.Define[PushPayload](1303, "repo.push", 1)
)

// CreatePayload creates a repository. ID is chosen by the proposer (newID): apply refuses one
// already in use. DefaultBranch "" means DefaultBranch.
type CreatePayload struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Description   string            `json:"description,omitempty"`
	DefaultBranch string            `json:"default_branch,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
}

// UpdatePayload changes the metadata of the repository named Name; a nil field is left as it
// is. NewName renames it (its ID, refs and packs stay); Tags replaces every tag.
type UpdatePayload struct {
	Name          string             `json:"name"`
	NewName       *string            `json:"new_name,omitempty"`
	Description   *string            `json:"description,omitempty"`
	DefaultBranch *string            `json:"default_branch,omitempty"`
	Tags          *map[string]string `json:"tags,omitempty"`
}

// DeletePayload deletes the repository named Name with its refs and pack records.
type DeletePayload struct {
	Name string `json:"name"`
}

// PushPayload is one push: every ref update is a compare-and-swap on Old (the zero ID: the ref
// must not exist), New the zero ID deletes. Pack is the sha256 of the pack blob that brings the
// push's objects ("" for none); it is recorded when at least one update applies. Atomic applies
// all updates or none. Options are the push options the client sent (`git push -o`), in order,
// at most MaxPushOptions of at most MaxPushOptionLen bytes, none with a NUL or line break;
// apply stores nothing of them: they are in the log and the push's audit record, for features
// that act on a push (an entry without them, written before they existed, applies the same).
type PushPayload struct {
	ID      string       `json:"id"`
	Pack    string       `json:"pack,omitempty"`
	Updates []PushUpdate `json:"updates"`
	Atomic  bool         `json:"atomic,omitempty"`
	Options []string     `json:"options,omitempty"`
	// ViaPullRequest marks a move published by a pull-request merge (branch protection's
	// require-pr); Refused names refs the proposer's branch protection check refused, with the
	// reason (ref → reason): apply rejects them with it, so the refusal is in the log and the
	// push's audit record, and an atomic push with one applies nothing. Both are omitted when
	// empty: an entry written before they existed applies the same.
	ViaPullRequest bool              `json:"via_pull_request,omitempty"`
	Refused        map[string]string `json:"refused,omitempty"`
}

// PushResult is what apply returns for a push: each update's outcome, in order. Its audit
// detail (AuditDetail, not in its JSON) names every ref with its old and new value and
// outcome, the pack and the push options.
type PushResult struct {
	Results []PushOutcome `json:"results"`

	detail string
}

// AuditDetail implements audit.Detailer: the push's audit record says which refs moved.
func (r PushResult) AuditDetail() string { return r.detail }

// PushUpdate is one ref update of a push in the log (the transport's RefUpdate).
type PushUpdate struct {
	Ref string `json:"ref"`
	Old string `json:"old"`
	New string `json:"new"`
}

// PushOutcome is one ref's outcome in a push's result (the transport's RefResult).
type PushOutcome struct {
	Ref    string `json:"ref"`
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
}
