package state

import (
	"time"

	"github.com/slipwayhq/slipway/server/core/fault"
)

// The deployments service (server/deploy) owns applications: it declares their bucket and
// creates, updates, lists and deletes them. What is left here is what the core's deployment code
// still reads.
//
// TODO(issue 14): App and GetApp move to server/deploy once deployments have moved there.

// bucketApps is the deployments service's application bucket (name -> App).
var bucketApps = []byte("apps")

// App is an application record.
type App struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	CreateTime  time.Time `json:"create_time"`
	CreateIndex uint64    `json:"create_index"`
	ModifyIndex uint64    `json:"modify_index"`
}

// GetApp returns one application.
func (t *Tx) GetApp(name string) (App, error) {
	var a App
	ok, err := t.get(bucketApps, []byte(name), &a)
	if err != nil {
		return a, err
	}
	if !ok {
		return a, fault.New(fault.NotFound, "application %q not found", name)
	}
	return a, nil
}
