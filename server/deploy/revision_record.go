package deploy

import (
	"time"

	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Revision (bucket revisions, by ID; its JSON is in snapshots) is an application's revision: a bundle blob with a description.
type Revision struct {
	ID          string    `json:"id"`
	App         string    `json:"app"`
	SHA256      string    `json:"sha256"`
	Size        int64     `json:"size"`
	Format      string    `json:"format"`
	Description string    `json:"description,omitempty"`
	CreateTime  time.Time `json:"create_time"`
	CreateIndex uint64    `json:"create_index"`
}

// getRevision returns a revision by ID, or a not_found fault.
func getRevision(tx *state.Tx, id string) (Revision, error) {
	r, ok, err := state.Get[Revision](tx, bucketRevisions, id)
	if err == nil && !ok {
		err = fault.New(fault.NotFound, "revision %q not found", id)
	}
	return r, err
}
