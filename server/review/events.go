package review

import (
	"time"

	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git/hooks"
)

// prPayload is a pull request as its webhook events carry it (docs/WEBHOOKS.md).
type prPayload struct {
	ID          uint64    `json:"id"`
	Title       string    `json:"title"`
	Source      string    `json:"source"`
	Destination string    `json:"destination"`
	Author      string    `json:"author"`
	Status      string    `json:"status"`
	Revision    Revision  `json:"revision"`
	Merge       *Merge    `json:"merge,omitempty"`
	CreateTime  time.Time `json:"create_time"`
}

// prEvent is the payload of a pull_request event: Action is opened, edited (title or
// description), closed, reopened, revised (a push moved either branch: a new revision) or
// merged.
type prEvent struct {
	Action      string    `json:"action"`
	PullRequest prPayload `json:"pull_request"`
}

// commentEvent is the payload of a pull_request_comment event: Action created, edited or
// deleted (a deleted comment's body is empty).
type commentEvent struct {
	Action      string    `json:"action"`
	PullRequest prPayload `json:"pull_request"`
	Comment     Comment   `json:"comment"`
}

// approvalEvent is the payload of a pull_request_approval event (Action approved or revoked).
type approvalEvent struct {
	Action      string    `json:"action"`
	PullRequest prPayload `json:"pull_request"`
	Revision    int       `json:"revision"`
}

func payloadOf(p PR) prPayload {
	pl := prPayload{ID: p.ID, Title: p.Title, Source: p.Source, Destination: p.Destination, Author: p.Author,
		Status: p.Status, Merge: p.Merge, CreateTime: p.CreateTime}
	if n := len(p.Revisions); n > 0 {
		pl.Revision = p.Revisions[n-1]
		pl.Revision.Mergeable, pl.Revision.Conflicts = nil, nil
	}
	return pl
}

// emit puts a pull-request event into its repository's event stream (package hooks), which
// queues a delivery for each of the repository's webhooks subscribed to its type. Called by
// apply, with the command's time: deterministic.
func emit(tx *state.Tx, p PR, typ, actor string, at time.Time, payload any) error {
	return hooks.Emit(tx, p.RepoID, hooks.Event{Type: typ, Repo: p.Repo, Actor: actor, Time: at, Payload: payload})
}
