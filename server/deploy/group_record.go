package deploy

import (
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Auto-rollback settings of a group.
const (
	RollbackOff       = "off"
	RollbackOnFailure = "on-failure"
	RollbackOnStop    = "on-stop"
)

// Member is what a group knows of one of its hosts.
type Member struct {
	Health   string `json:"health"` // healthy, unhealthy, unknown
	Revision string `json:"revision,omitempty"`
}

// Group (bucket groups, by app and name; its JSON is in snapshots) is a deployment group: an app's set of hosts (by tag filters and names) deployed together.
type Group struct {
	ID           string            `json:"id"`
	App          string            `json:"app"`
	Name         string            `json:"name"`
	Tags         map[string]string `json:"tags,omitempty"`  // a host matching all of them is a member
	Hosts        []string          `json:"hosts,omitempty"` // host names that are members too
	Config       string            `json:"config"`
	AutoRollback string            `json:"auto_rollback"`
	// CurrentRevision is the revision of the group's last successful deployment.
	CurrentRevision string `json:"current_revision,omitempty"`
	// Members by host ID: health and revision as the last deployments left them.
	Members          map[string]Member `json:"members,omitempty"`
	ActiveDeployment string            `json:"active_deployment,omitempty"`
	CreateIndex      uint64            `json:"create_index"`
	ModifyIndex      uint64            `json:"modify_index"`
	// HealthCheck is checked by each host's agent after ValidateService (group.put version 2);
	// nil for none.
	HealthCheck *HealthCheck `json:"health_check,omitempty"`
}

// DeploymentConfig is a named minimum-healthy-hosts rule.
type DeploymentConfig struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"` // HOST_COUNT or FLEET_PERCENT
	Value       int    `json:"value"`
	CreateIndex uint64 `json:"create_index"`
}

// putGroup creates or replaces a group.
func putGroup(tx *state.Tx, g Group) error {
	return state.Put(tx, bucketGroups, groupKey(g.App, g.Name), g)
}

// getGroup returns an app's group, or a not_found fault naming how to list them.
func getGroup(tx *state.Tx, app, name string) (Group, error) {
	g, ok, err := state.Get[Group](tx, bucketGroups, groupKey(app, name))
	if err == nil && !ok {
		err = fault.New(fault.NotFound, "deployment group %q of app %q not found: see slipway group list --app %s", name, app, app)
	}
	return g, err
}

// listGroups returns an app's groups ("" for every app's) in name order.
func listGroups(tx *state.Tx, app string) ([]Group, error) {
	out, _, err := state.List(tx, bucketGroups, "", 0, func(g *Group) bool { return app == "" || g.App == app })
	return out, err
}

// getDeploymentConfig returns a custom configuration; ok is false when there is none.
func getDeploymentConfig(tx *state.Tx, name string) (DeploymentConfig, bool, error) {
	return state.Get[DeploymentConfig](tx, bucketConfigs, name)
}

// MatchesGroup reports whether host h is a member of g: named in it, or carrying every one of its
// tag filters.
func MatchesGroup(g Group, h state.Host) bool {
	for _, n := range g.Hosts {
		if n == h.Name {
			return true
		}
	}
	if len(g.Tags) == 0 {
		return false
	}
	for k, v := range g.Tags {
		if h.Tags[k] != v {
			return false
		}
	}
	return true
}

// revisionNames names the deployment groups' IDs "app/group", for the hosts API's view of each
// host's current revisions (declared with module.Registry.RevisionNames).
func revisionNames(tx *state.Tx) map[string]string {
	names := map[string]string{}
	if groups, err := listGroups(tx, ""); err == nil {
		for _, g := range groups {
			names[g.ID] = g.App + "/" + g.Name
		}
	}
	return names
}
