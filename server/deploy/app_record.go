package deploy

import (
	"time"

	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// App is an application record (bucket apps, by name). Its JSON is in snapshots: add fields,
// never rename them.
type App struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	CreateTime  time.Time `json:"create_time"`
	CreateIndex uint64    `json:"create_index"`
	ModifyIndex uint64    `json:"modify_index"`
}

// getApp returns one application, or a not_found fault.
func getApp(tx *state.Tx, name string) (App, error) {
	a, ok, err := state.Get[App](tx, bucketApps, name)
	if err == nil && !ok {
		err = fault.New(fault.NotFound, "application %q not found", name)
	}
	return a, err
}
