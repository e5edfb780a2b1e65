package deploy

import (
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/deploy/rollout"
)

// bucketConfigs holds the custom deployment configurations. Its name is in snapshots: never
// change it.
var bucketConfigs = []byte("deploy_confs") // name -> DeploymentConfig

// The configuration record is still DeploymentConfig, and Tx.GetDeploymentConfig still
// reads it: the core's rollouts do. They move here with the deployments (issue 14).

// putConfig stores a custom configuration; an existing name is a conflict.
func putConfig(tx *state.Tx, c DeploymentConfig) error {
	if tx.Bucket(bucketConfigs).Get([]byte(c.Name)) != nil {
		return fault.New(fault.Conflict, "deployment config %q already exists", c.Name)
	}
	return state.Put(tx, bucketConfigs, c.Name, c)
}

// listConfigs returns the custom configurations in name order.
func listConfigs(tx *state.Tx) ([]DeploymentConfig, error) {
	out, _, err := state.List[DeploymentConfig](tx, bucketConfigs, "", 0, nil)
	return out, err
}

// isBuiltin reports whether name is a built-in configuration's, short or AWS's.
func isBuiltin(name string) bool {
	_, ok := rollout.Builtin(name)
	return ok
}

// isShortBuiltin reports whether name is a built-in configuration's short name. Apply rules of the
// commands released before AWS names were accepted (config.create, group.put, deployment.create)
// use it, so that entries already in logs apply as they did: a custom configuration may exist
// under an AWS name from then. AWS names reach those commands only as short names: the Go API
// (Groups, Deployments) translates them before it proposes, and Configs.Create refuses them.
func isShortBuiltin(name string) bool {
	c, ok := rollout.Builtin(name)
	return ok && c.Name == name
}

// configExists checks that a group may name the configuration: a built-in one (by its short
// name) or a stored one.
func configExists(tx *state.Tx, name string) error {
	if isShortBuiltin(name) {
		return nil
	}
	if _, ok, err := getDeploymentConfig(tx, name); err != nil || ok {
		return err
	}
	return fault.New(fault.NotFound, "deployment config %q not found: use OneAtATime, HalfAtATime, AllAtOnce (or CodeDeployDefault.OneAtATime, ...) or one from slipway config list", name)
}

// groupsUsing names the groups ("app/group", in order) whose configuration is name.
func groupsUsing(tx *state.Tx, name string) ([]string, error) {
	groups, err := listGroups(tx, "")
	var out []string
	for _, g := range groups {
		if g.Config == name {
			out = append(out, g.App+"/"+g.Name)
		}
	}
	return out, err
}
