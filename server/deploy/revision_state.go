package deploy

import (
	"cmp"
	"slices"

	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// The revisions' buckets. Their names are in snapshots: never change them.
var (
	bucketRevisions     = []byte("revisions")        // id -> Revision
	bucketRevisionByApp = []byte("revisions_by_app") // app | 0 | sha256 -> id
)

// The revision record is still Revision, and reading one is still Tx.GetRevision: the
// core's deployment code reads them too. They move here with the deployments (issue 14).

func revAppKey(app, sha string) []byte {
	k := make([]byte, 0, len(app)+1+len(sha))
	k = append(k, app...)
	k = append(k, 0)
	return append(k, sha...)
}

// createRevision stores a revision of an existing app over an existing blob. When the app
// already has a revision with the same content, that revision is returned and nothing changes.
func createRevision(tx *state.Tx, r Revision) (Revision, error) {
	if _, err := getApp(tx, r.App); err != nil {
		return r, err
	}
	if _, err := tx.Blobs().Get(r.SHA256); err != nil {
		return r, fault.New(fault.Invalid, "revision content %s was not uploaded", r.SHA256)
	}
	if id := tx.Bucket(bucketRevisionByApp).Get(revAppKey(r.App, r.SHA256)); id != nil {
		return getRevision(tx, string(id))
	}
	if tx.Bucket(bucketRevisions).Get([]byte(r.ID)) != nil {
		return r, fault.New(fault.Conflict, "revision %s already exists", r.ID)
	}
	if err := state.Put(tx, bucketRevisions, r.ID, r); err != nil {
		return r, err
	}
	if err := tx.Bucket(bucketRevisionByApp).Put(revAppKey(r.App, r.SHA256), []byte(r.ID)); err != nil {
		return r, err
	}
	return r, tx.Blobs().AddRef(r.SHA256, "revision:"+r.ID)
}

// listRevisions returns an app's revisions, oldest first.
func listRevisions(tx *state.Tx, app string) ([]Revision, error) {
	var out []Revision
	prefix := append([]byte(app), 0)
	c := tx.Bucket(bucketRevisionByApp).Cursor()
	for k, v := c.Seek(prefix); k != nil && len(k) > len(prefix) && string(k[:len(prefix)]) == string(prefix); k, v = c.Next() {
		r, err := getRevision(tx, string(v))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sortRevisions(out)
	return out, nil
}

// deleteRevisionsOfApp removes every revision of app and releases their blobs.
func deleteRevisionsOfApp(tx *state.Tx, app string) error {
	revs, err := listRevisions(tx, app)
	if err != nil {
		return err
	}
	for _, r := range revs {
		if err := state.Delete(tx, bucketRevisions, r.ID); err != nil {
			return err
		}
		if err := tx.Bucket(bucketRevisionByApp).Delete(revAppKey(r.App, r.SHA256)); err != nil {
			return err
		}
		if err := tx.Blobs().RemoveRef(r.SHA256, "revision:"+r.ID); err != nil {
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
