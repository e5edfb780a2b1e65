package api

import "time"

// Revision is an application revision: a bundle (tar, tar.gz or zip holding an appspec) stored
// in the cluster's replicated blob store. Pushing the same content to the same app again returns
// the existing revision.
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

// RevisionList is the answer of GET /v1/apps/{app}/revisions, oldest first.
type RevisionList struct {
	Revisions []Revision `json:"revisions"`
}

// HeaderSHA256 carries the sha256 (lowercase hex) of an upload or a download's content. On an
// upload it is checked against what arrived, and a mismatch stores nothing.
const HeaderSHA256 = "X-Slipway-Sha256"
