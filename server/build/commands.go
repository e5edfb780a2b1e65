package build

import "github.com/slipwayhq/slipway/server/core/command"

// The service's commands, numbered in its range (1700-1799). Their numbers, names, schema
// versions and payload JSON are part of the Raft log format: never change them. The proposer
// resolves everything that needs git, the identity service, a clock or randomness (the commit,
// the caller's name, the build's UUID, an inline buildspec's validity); apply checks the state and
// the bounds only, so every server applies the same.
var (
	cmdProjectCreate = command.Define[ProjectCreatePayload](1700, "build.project_create", 1)
	cmdProjectUpdate = command.Define[ProjectUpdatePayload](1701, "build.project_update", 1)
	cmdProjectDelete = command.Define[ProjectDeletePayload](1702, "build.project_delete", 1)
	cmdStart         = command.Define[StartPayload](1710, "build.start", 1)
	cmdStop          = command.Define[StopPayload](1711, "build.stop", 1)
	cmdQueueTimeout  = command.Define[QueueTimeoutPayload](1712, "build.queue_timeout", 1)
)

// ProjectCreatePayload creates the project Settings.Name (defaults already filled in by the
// proposer) by Actor.
type ProjectCreatePayload struct {
	Settings Settings `json:"settings"`
	Actor    string   `json:"actor"`
}

// ProjectUpdatePayload replaces the fields of project Name that are set (nil: unchanged); the
// project as changed must still be valid. ConcurrentBuildLimit 0 removes the limit.
type ProjectUpdatePayload struct {
	Name                 string       `json:"name"`
	Description          *string      `json:"description,omitempty"`
	Source               *Source      `json:"source,omitempty"`
	SourceVersion        *string      `json:"source_version,omitempty"`
	Environment          *Environment `json:"environment,omitempty"`
	TimeoutMinutes       *int         `json:"timeout_minutes,omitempty"`
	QueuedTimeoutMinutes *int         `json:"queued_timeout_minutes,omitempty"`
	ConcurrentBuildLimit *int         `json:"concurrent_build_limit,omitempty"`
	Artifacts            *Artifacts   `json:"artifacts,omitempty"`
	Cache                *Cache       `json:"cache,omitempty"`
	ServiceRole          *string      `json:"service_role,omitempty"`
	Actor                string       `json:"actor"`
}

// ProjectDeletePayload deletes project Name with its builds' records. A project with builds
// queued or in progress is not deleted (a conflict).
type ProjectDeletePayload struct {
	Name string `json:"name"`
}

// StartPayload records a build QUEUED. ID is "PROJECT:UUID" (the UUID chosen by the proposer).
// ProjectCreateIndex is the create index of the project the proposer read: a project deleted
// and created again since is a conflict. Source, Environment, the timeouts and ServiceRole are
// the project's with the start's overrides, as the proposer merged them; SourceVersion is the
// version asked for ("" for the project's), ResolvedSourceVersion the commit it resolved to
// ("" for NO_SOURCE). Apply gives the build its number and start time (the command's).
type StartPayload struct {
	ID                    string      `json:"id"`
	Project               string      `json:"project"`
	ProjectCreateIndex    uint64      `json:"project_create_index"`
	Initiator             string      `json:"initiator"`
	SourceVersion         string      `json:"source_version,omitempty"`
	ResolvedSourceVersion string      `json:"resolved_source_version,omitempty"`
	Source                Source      `json:"source"`
	Environment           Environment `json:"environment"`
	TimeoutMinutes        int         `json:"timeout_minutes"`
	QueuedTimeoutMinutes  int         `json:"queued_timeout_minutes"`
	ServiceRole           string      `json:"service_role,omitempty"`
	// SourceArtifact is the build's source when a blob is (StartOptions): the blob must be
	// recorded; the build references it.
	SourceArtifact *SourceArtifact `json:"source_artifact,omitempty"`
}

// StopPayload stops build ID: a queued build becomes STOPPED; one in progress gets
// stop_requested for its worker; one that ended is left as it is.
type StopPayload struct {
	ID    string `json:"id"`
	Actor string `json:"actor"`
}

// QueueTimeoutPayload ends build ID TIMED_OUT in its QUEUED phase: it applies only while the
// build is still queued and the command's time is past its queued timeout (the leader's sweep
// proposes it; a sweep repeated by a new leader changes nothing).
type QueueTimeoutPayload struct {
	ID string `json:"id"`
}
