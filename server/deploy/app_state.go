package deploy

import (
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// bucketApps holds the applications by name. The name is in snapshots: never change it.
var bucketApps = []byte("apps") // name -> App

// The application record is still App, and reading one is still Tx.GetApp: the core's
// deployment code reads them too. They move here with the deployments (issue 14).

// createApp stores a new application; an existing name is a conflict.
func createApp(tx *state.Tx, a App) error {
	if err := state.ValidateName("application", a.Name); err != nil {
		return err
	}
	if len(a.Description) > state.MaxDescriptionLen {
		return fault.New(fault.Invalid, "description is %d bytes; the limit is %d", len(a.Description), state.MaxDescriptionLen)
	}
	if tx.Bucket(bucketApps).Get([]byte(a.Name)) != nil {
		return fault.New(fault.Conflict, "application %q already exists: choose another name or delete it first", a.Name)
	}
	return state.Put(tx, bucketApps, a.Name, a)
}

// updateApp sets an application's description and its ModifyIndex to index. When cas is not
// zero the update is conditional: it applies only if the stored ModifyIndex equals cas, and is a
// conflict otherwise, which names the index the caller should read again.
func updateApp(tx *state.Tx, name, description string, cas, index uint64) (App, error) {
	if len(description) > state.MaxDescriptionLen {
		return App{}, fault.New(fault.Invalid, "description is %d bytes; the limit is %d", len(description), state.MaxDescriptionLen)
	}
	a, err := getApp(tx, name)
	if err != nil {
		return App{}, err
	}
	if cas != 0 && a.ModifyIndex != cas {
		return App{}, fault.New(fault.Conflict,
			"application %q was modified at index %d, not %d as the request requires: read it again and retry", name, a.ModifyIndex, cas)
	}
	a.Description, a.ModifyIndex = description, index
	return a, state.Put(tx, bucketApps, name, a)
}

// deleteApp removes an application; a missing one is not found.
func deleteApp(tx *state.Tx, name string) error {
	if tx.Bucket(bucketApps).Get([]byte(name)) == nil {
		return fault.New(fault.NotFound, "application %q not found", name)
	}
	return state.Delete(tx, bucketApps, name)
}

// listApps returns applications in name order, a page at a time.
func listApps(tx *state.Tx, after string, limit int) ([]App, string, error) {
	return state.List[App](tx, bucketApps, after, limit, nil)
}
