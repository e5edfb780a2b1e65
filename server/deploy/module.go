// Package deploy is the deployments service (CodeDeploy): applications, revisions, deployment
// groups and configurations, deployments and their rollout, and the "deploy" kind of agent
// work. It plugs into the core through one registration (Module) and offers its Go API (Apps,
// Revisions, Groups, Configs, Deployments) to HTTP handlers, the console and other services;
// see DESIGN.md.
package deploy

import (
	"net/http"

	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/module"
)

// Command numbers the deployments service owns. They were given out before services had ranges
// and stay as they are; new deploy commands take numbers from 1100-1199.
var commandRanges = []command.Range{
	{First: 20, Last: 29},     // applications
	{First: 40, Last: 49},     // revisions
	{First: 60, Last: 79},     // deployments, groups, configurations
	{First: 1100, Last: 1199}, // later ones
}

// Module is the deployments service's registration.
type Module struct {
	core *module.Core
}

// New returns the deployments service.
func New() *Module { return &Module{} }

// Name implements module.Module.
func (*Module) Name() string { return "deploy" }

// Register implements module.Module.
func (m *Module) Register(r *module.Registry, core *module.Core) {
	m.core = core
	r.Commands(commandRanges...)
	r.Actions("codedeploy")
	m.registerApps(r)
	m.registerRevisions(r)
	m.registerGroups(r)
	m.registerDeployments(r)
	m.registerTriggers(r)
}

// httpHandlers are the service's HTTP handlers (the *_http.go files): thin, they decode the
// request, call the service's Go API and answer.
type httpHandlers struct{ *Module }

// DeploymentResource is the ResolveResource of a route of one deployment ({id} in its path):
// its group's resource, as for /v1/deployments/{id} (the console's pages of a deployment).
func (m *Module) DeploymentResource(r *http.Request) (string, error) {
	return httpHandlers{m}.resolveDeployment(r)
}

// DeploymentListResource is the ResolveResource of a list of deployments filtered by ?app= and
// ?group=, as for GET /v1/deployments (the console's list).
func (m *Module) DeploymentListResource(r *http.Request) (string, error) {
	return httpHandlers{m}.resolveDeploymentList(r)
}

// WatchHandler is the handler of GET /v1/deployments/{id}/watch, for the console's watch of a
// deployment (the same stream, behind the console's session and origin check).
func (m *Module) WatchHandler() api.HandlerFunc { return httpHandlers{m}.deploymentWatch }
