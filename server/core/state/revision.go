package state

import (
	"time"

	"github.com/slipwayhq/slipway/server/core/fault"
)

// The deployments service (server/deploy) owns revisions: it declares their buckets, creates,
// lists and deletes them. What is left here is what the core's deployment code still reads.
//
// TODO(issue 14): Revision and GetRevision move to server/deploy once deployments have moved
// there.

// bucketRevisions is the deployments service's revision bucket (id -> Revision).
var bucketRevisions = []byte("revisions")

// Revision is an application's revision: a bundle blob with a description.
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

// GetRevision returns a revision by ID.
func (t *Tx) GetRevision(id string) (Revision, error) {
	var r Revision
	ok, err := t.get(bucketRevisions, []byte(id), &r)
	if err != nil {
		return r, err
	}
	if !ok {
		return r, fault.New(fault.NotFound, "revision %q not found", id)
	}
	return r, nil
}
