package state

import (
	"github.com/slipwayhq/slipway/server/core/fault"
)

// The deployments service (server/deploy) owns deployment groups and configurations: it declares
// their buckets, creates, updates, lists and deletes them. What is left here is what the core's
// deployment code (rollouts update a group's members) and the hosts API still use.
//
// TODO(issue 14): these move to server/deploy once deployments have moved there.

// The deployments service's buckets of groups and configurations.
var (
	bucketGroups      = []byte("groups")       // app | 0 | name -> Group
	bucketDeployConfs = []byte("deploy_confs") // name -> DeploymentConfig
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

// Group is a deployment group: an app's set of hosts (by tag filters and names) deployed together.
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
}

// DeploymentConfig is a named minimum-healthy-hosts rule.
type DeploymentConfig struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"` // HOST_COUNT or FLEET_PERCENT
	Value       int    `json:"value"`
	CreateIndex uint64 `json:"create_index"`
}

func groupKey(app, name string) []byte {
	return append(append(append([]byte{}, app...), 0), name...)
}

// PutGroup creates or replaces a group.
func (t *Tx) PutGroup(g Group) error { return t.put(bucketGroups, groupKey(g.App, g.Name), g) }

// GetGroup returns an app's group.
func (t *Tx) GetGroup(app, name string) (Group, error) {
	var g Group
	ok, err := t.get(bucketGroups, groupKey(app, name), &g)
	if err == nil && !ok {
		err = fault.New(fault.NotFound, "deployment group %q of app %q not found: see slipway group list --app %s", name, app, app)
	}
	return g, err
}

// ListGroups returns an app's groups ("" for every app's) in name order.
func (t *Tx) ListGroups(app string) ([]Group, error) {
	out, _, err := list[Group](t, bucketGroups, "", 0, func(g *Group) bool { return app == "" || g.App == app })
	return out, err
}

// GetDeploymentConfig returns a custom configuration.
func (t *Tx) GetDeploymentConfig(name string) (DeploymentConfig, bool, error) {
	var c DeploymentConfig
	ok, err := t.get(bucketDeployConfs, []byte(name), &c)
	return c, ok, err
}

// MatchesGroup reports whether host h is a member of g: named in it, or carrying every one of its
// tag filters.
func MatchesGroup(g Group, h Host) bool {
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
