package deploy

import (
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// CmdRevisionCreate is the revisions' command. Its number, name, version and the payload's JSON
// are the log format: never change them.
var CmdRevisionCreate = command.Define[RevisionCreatePayload](40, "revision.create", 1)

// RevisionCreatePayload creates a revision of an app over a registered blob (or returns the
// app's existing revision with the same content).
type RevisionCreatePayload struct {
	ID          string `json:"id"`
	App         string `json:"app"`
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	Format      string `json:"format"`
	Description string `json:"description,omitempty"`
}

func (m *Module) applyRevisionCreate(tx *state.Tx, index uint64, c *command.Command, p RevisionCreatePayload) (any, error) {
	if p.ID == "" || !state.ValidSHA(p.SHA256) {
		return nil, fault.New(fault.Invalid, "revision needs an id and a sha256")
	}
	return createRevision(tx, Revision{
		ID: p.ID, App: p.App, SHA256: p.SHA256, Size: p.Size, Format: p.Format,
		Description: p.Description, CreateTime: c.Time, CreateIndex: index,
	})
}
