package api

import (
	"context"
	"net/http"
	"net/url"
)

// Auto-rollback settings.
const (
	RollbackOff       = "off"
	RollbackOnFailure = "on-failure"
	RollbackOnStop    = "on-stop"
)

// GroupRequest is the body of POST /v1/apps/{app}/groups and PUT .../groups/{name}. Members are
// the hosts matching every tag and the hosts named; they are fixed when a deployment starts.
type GroupRequest struct {
	Name         string            `json:"name"`
	Tags         map[string]string `json:"tags,omitempty"`
	Hosts        []string          `json:"hosts,omitempty"`
	Config       string            `json:"config,omitempty"`        // default OneAtATime
	AutoRollback string            `json:"auto_rollback,omitempty"` // on-failure, on-stop or off (default)
	HealthCheck  *GroupHealthCheck `json:"health_check,omitempty"`
}

// GroupHealthCheck is a group's HTTP health check: after ValidateService succeeded on a host, its
// agent GETs URL from the host itself (so http://127.0.0.1:PORT/... checks the host's own
// service), at most Attempts times IntervalSeconds apart, each within TimeoutSeconds, without
// following redirects; a response with ExpectedStatus passes. A check that fails fails the host,
// and the deployment rolls back when the group's auto-rollback is on-failure (as CodeDeploy rolls
// back on an alarm). Zero fields take the defaults: status 200, timeout 5 s, 3 attempts, 5 s
// apart. In an update, a health check with an empty URL removes the group's.
type GroupHealthCheck struct {
	URL             string  `json:"url"`
	ExpectedStatus  int     `json:"expected_status,omitempty"`
	TimeoutSeconds  float64 `json:"timeout_seconds,omitempty"`
	Attempts        int     `json:"attempts,omitempty"`
	IntervalSeconds float64 `json:"interval_seconds,omitempty"`
}

// GroupUpdateRequest is the body of PUT /v1/apps/{app}/groups/{name}: a partial update, as
// CodeDeploy's UpdateDeploymentGroup. A field left out (nil) keeps the group's value; a field
// given replaces it, and an empty one ("tags": {} or "hosts": []) clears it (a group must still
// keep tag filters or host names). Config and AutoRollback cannot be cleared, only changed.
type GroupUpdateRequest struct {
	Name         string             `json:"name,omitempty"` // ignored: the path names the group
	Tags         *map[string]string `json:"tags,omitempty"`
	Hosts        *[]string          `json:"hosts,omitempty"`
	Config       *string            `json:"config,omitempty"`
	AutoRollback *string            `json:"auto_rollback,omitempty"`
	HealthCheck  *GroupHealthCheck  `json:"health_check,omitempty"` // an empty URL removes it
}

// GroupMember is a host of a group with the health and revision deployments left it with.
type GroupMember struct {
	Host     string `json:"host"`
	Health   string `json:"health"` // healthy, unhealthy, unknown
	Revision string `json:"revision,omitempty"`
}

// Group is a deployment group.
type Group struct {
	App              string            `json:"app"`
	Name             string            `json:"name"`
	Tags             map[string]string `json:"tags,omitempty"`
	Hosts            []string          `json:"hosts,omitempty"`
	Config           string            `json:"config"`
	AutoRollback     string            `json:"auto_rollback"`
	CurrentRevision  string            `json:"current_revision,omitempty"`
	ActiveDeployment string            `json:"active_deployment,omitempty"`
	Members          []GroupMember     `json:"members"`
	HealthCheck      *GroupHealthCheck `json:"health_check,omitempty"`
	Triggers         []Trigger         `json:"triggers,omitempty"`
}

// GroupList is the answer of GET /v1/apps/{app}/groups.
type GroupList struct {
	Groups []Group `json:"groups"`
}

// DeploymentConfig is a minimum-healthy-hosts rule: HOST_COUNT (hosts) or FLEET_PERCENT (0-99).
// A built-in one is named by its short name (OneAtATime) and answers to its AWS name too
// (AWSName, CodeDeployDefault.OneAtATime) wherever a configuration is named.
type DeploymentConfig struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Value   int    `json:"value"`
	Builtin bool   `json:"builtin,omitempty"`
	AWSName string `json:"aws_name,omitempty"` // built-in ones only
	// UsedBy names the groups ("app/group") that use the configuration; GET
	// /v1/deployment-configs/{name} only.
	UsedBy []string `json:"used_by,omitempty"`
}

// DeploymentConfigList is the answer of GET /v1/deployment-configs.
type DeploymentConfigList struct {
	Configs []DeploymentConfig `json:"configs"`
}

func groupPath(app string) string { return "/v1/apps/" + url.PathEscape(app) + "/groups" }

// GroupCreate creates a deployment group.
func (c *Client) GroupCreate(ctx context.Context, app string, req GroupRequest) (*Group, error) {
	var g Group
	err := c.do(ctx, request{method: http.MethodPost, path: groupPath(app), in: req, out: &g})
	return &g, err
}

// GroupUpdate changes the settings req gives of app's group name and keeps the others.
func (c *Client) GroupUpdate(ctx context.Context, app, name string, req GroupUpdateRequest) (*Group, error) {
	var g Group
	err := c.do(ctx, request{method: http.MethodPut, path: groupPath(app) + "/" + url.PathEscape(name), in: req, out: &g})
	return &g, err
}

// GroupGet returns a group with its members.
func (c *Client) GroupGet(ctx context.Context, app, name string, q *QueryOptions) (*Group, error) {
	var g Group
	err := c.do(ctx, request{method: http.MethodGet, path: groupPath(app) + "/" + url.PathEscape(name), query: q.values(), out: &g})
	return &g, err
}

// GroupList lists an app's groups.
func (c *Client) GroupList(ctx context.Context, app string, q *QueryOptions) (*GroupList, error) {
	var l GroupList
	err := c.do(ctx, request{method: http.MethodGet, path: groupPath(app), query: q.values(), out: &l})
	return &l, err
}

// GroupDelete removes a group.
func (c *Client) GroupDelete(ctx context.Context, app, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: groupPath(app) + "/" + url.PathEscape(name)})
}

// ConfigCreate creates a custom deployment configuration.
func (c *Client) ConfigCreate(ctx context.Context, cfg DeploymentConfig) (*DeploymentConfig, error) {
	var out DeploymentConfig
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/deployment-configs", in: cfg, out: &out})
	return &out, err
}

// ConfigGet returns a deployment configuration by name (a built-in one by either of its names),
// with the groups that use it.
func (c *Client) ConfigGet(ctx context.Context, name string) (*DeploymentConfig, error) {
	var out DeploymentConfig
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/deployment-configs/" + url.PathEscape(name), out: &out})
	return &out, err
}

// ConfigDelete removes a custom deployment configuration. One that a group uses is a conflict
// naming the groups; a built-in one cannot be deleted.
func (c *Client) ConfigDelete(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/v1/deployment-configs/" + url.PathEscape(name)})
}

// ConfigList lists built-in and custom deployment configurations.
func (c *Client) ConfigList(ctx context.Context) (*DeploymentConfigList, error) {
	var l DeploymentConfigList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/deployment-configs", out: &l})
	return &l, err
}
