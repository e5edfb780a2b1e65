package deploy

import (
	"github.com/slipwayhq/slipway/server/core/command"
)

// The deployments' commands. Their numbers, names, schema versions and payload JSON are part of
// the Raft log format: they were given out by the core before the service existed and never
// change.
var (
	cmdDeploymentCreate   = command.Define[DeploymentCreate](60, "deployment.create", 1)
	cmdDeploymentReport   = command.Define[DeploymentReport](61, "deployment.report", 1)
	cmdDeploymentFailHost = command.Define[DeploymentFailHost](62, "deployment.fail_host", 1)
	cmdDeploymentStop     = command.Define[DeploymentStop](65, "deployment.stop", 2)
)

// DeploymentCreate creates a deployment of a revision to hosts.
type DeploymentCreate struct {
	ID                            string   `json:"id"`
	App                           string   `json:"app"`
	RevisionID                    string   `json:"revision_id"`
	HostIDs                       []string `json:"host_ids,omitempty"`
	IgnoreApplicationStopFailures bool     `json:"ignore_application_stop_failures,omitempty"`
	// Group deploys to a deployment group instead of HostIDs; its members are fixed at apply.
	Group string `json:"group,omitempty"`
	// Config overrides the group's deployment configuration.
	Config string `json:"config,omitempty"`
	// RollbackOf names the failed or stopped deployment this one rolls back.
	RollbackOf string `json:"rollback_of,omitempty"`
}

// DeploymentReport carries an agent's reports on one deployment, in sequence order. Its events
// and logs are the service's own records (ReportEvent, ReportLog), converted from the agent's
// messages at the session's edge, so that a change to the agent protocol cannot change the log.
type DeploymentReport struct {
	DeploymentID string        `json:"deployment_id"`
	HostID       string        `json:"host_id"`
	Events       []ReportEvent `json:"events,omitempty"`
	Logs         []ReportLog   `json:"logs,omitempty"`
}

// DeploymentFailHost fails a host's part of a deployment (the host went silent).
type DeploymentFailHost struct {
	DeploymentID string `json:"deployment_id"`
	HostID       string `json:"host_id"`
	Reason       string `json:"reason"`
}

// DeploymentStop stops a deployment: hosts not started are skipped, running ones cancelled.
// Rollback asks for a rollback of a group deployment whatever the group's auto-rollback setting
// (from schema version 2; a version 1 entry applies as it did then: see applyDeploymentStop).
type DeploymentStop struct {
	DeploymentID string `json:"deployment_id"`
	Rollback     bool   `json:"rollback"`
}
