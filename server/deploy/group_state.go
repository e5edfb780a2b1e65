package deploy

import (
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// bucketGroups holds the deployment groups. Its name is in snapshots: never change it.
var bucketGroups = []byte("groups") // app | 0 | name -> Group

// The group record is still Group, and Tx.GetGroup, Tx.PutGroup and Tx.ListGroups still
// read and write it: the core's rollouts update a group's members and the hosts API names
// groups. They move here with the deployments (issue 14).

func groupKey(app, name string) string { return app + "\x00" + name }

// deleteGroup removes a group and its triggers; one that is running a deployment is a conflict.
func deleteGroup(tx *state.Tx, app, name string) error {
	g, err := getGroup(tx, app, name)
	if err != nil {
		return err
	}
	if g.ActiveDeployment != "" {
		return fault.New(fault.Conflict, "group %q is running deployment %s: stop it first", name, g.ActiveDeployment)
	}
	if err := deleteGroupTriggers(tx, g.ID); err != nil {
		return err
	}
	return state.Delete(tx, bucketGroups, groupKey(app, name))
}
