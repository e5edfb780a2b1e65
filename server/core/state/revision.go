package state

import (
	"cmp"
	"slices"
	"time"

	"github.com/slipwayhq/slipway/server/core/fault"
)

var (
	bucketRevisions     = []byte("revisions")        // id -> Revision
	bucketRevisionByApp = []byte("revisions_by_app") // app | 0 | sha256 -> id
)

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

func revAppKey(app, sha string) []byte {
	k := make([]byte, 0, len(app)+1+len(sha))
	k = append(k, app...)
	k = append(k, 0)
	return append(k, sha...)
}

// CreateRevision stores a revision of an existing app over an existing blob. When the app
// already has a revision with the same content, that revision is returned and nothing changes.
func (t *Tx) CreateRevision(r Revision) (Revision, error) {
	if _, err := t.GetApp(r.App); err != nil {
		return r, err
	}
	if _, err := t.GetBlob(r.SHA256); err != nil {
		return r, fault.New(fault.Invalid, "revision content %s was not uploaded", r.SHA256)
	}
	if id := t.tx.Bucket(bucketRevisionByApp).Get(revAppKey(r.App, r.SHA256)); id != nil {
		return t.GetRevision(string(id))
	}
	if t.tx.Bucket(bucketRevisions).Get([]byte(r.ID)) != nil {
		return r, fault.New(fault.Conflict, "revision %s already exists", r.ID)
	}
	if err := t.put(bucketRevisions, []byte(r.ID), r); err != nil {
		return r, err
	}
	if err := t.tx.Bucket(bucketRevisionByApp).Put(revAppKey(r.App, r.SHA256), []byte(r.ID)); err != nil {
		return r, err
	}
	return r, t.AddBlobRef(r.SHA256, "revision:"+r.ID)
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

// ListRevisions returns an app's revisions, oldest first.
func (t *Tx) ListRevisions(app string) ([]Revision, error) {
	var out []Revision
	prefix := append([]byte(app), 0)
	c := t.tx.Bucket(bucketRevisionByApp).Cursor()
	for k, v := c.Seek(prefix); k != nil && len(k) > len(prefix) && string(k[:len(prefix)]) == string(prefix); k, v = c.Next() {
		r, err := t.GetRevision(string(v))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sortRevisions(out)
	return out, nil
}

// DeleteRevisionsOfApp removes every revision of app and releases their blobs.
func (t *Tx) DeleteRevisionsOfApp(app string) error {
	revs, err := t.ListRevisions(app)
	if err != nil {
		return err
	}
	for _, r := range revs {
		if err := t.tx.Bucket(bucketRevisions).Delete([]byte(r.ID)); err != nil {
			return err
		}
		if err := t.tx.Bucket(bucketRevisionByApp).Delete(revAppKey(r.App, r.SHA256)); err != nil {
			return err
		}
		if err := t.RemoveBlobRef(r.SHA256, "revision:"+r.ID); err != nil {
			return err
		}
	}
	return nil
}

func sortRevisions(rs []Revision) {
	slices.SortFunc(rs, func(a, b Revision) int {
		return cmp.Or(cmp.Compare(a.CreateIndex, b.CreateIndex), cmp.Compare(a.ID, b.ID))
	})
}
