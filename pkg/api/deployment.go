package api

import (
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// DeploymentCreateRequest is the body of POST /v1/deployments: run a revision of an app on the
// named hosts.
type DeploymentCreateRequest struct {
	App string `json:"app"`
	// Revision is the revision's ID, a unique prefix of it, or RevisionLatest (App's newest).
	Revision string   `json:"revision"`
	Hosts    []string `json:"hosts,omitempty"`
	// Group deploys to a deployment group (instead of Hosts) following its configuration, or
	// Config when set.
	Group                         string `json:"group,omitempty"`
	Config                        string `json:"config,omitempty"`
	IgnoreApplicationStopFailures bool   `json:"ignore_application_stop_failures,omitempty"`
}

// Deployment statuses.
const (
	DeploymentInProgress = "in_progress"
	DeploymentSucceeded  = "succeeded"
	DeploymentFailed     = "failed"
	DeploymentStopped    = "stopped"
)

// DeploymentStopRequest is the body of POST /v1/deployments/{id}/stop.
type DeploymentStopRequest struct {
	// Rollback starts a deployment of the group's last successful revision after the stop.
	Rollback bool `json:"rollback,omitempty"`
}

// Deployment is a revision being (or having been) installed on hosts.
type Deployment struct {
	ID          string             `json:"id"`
	App         string             `json:"app"`
	Revision    string             `json:"revision"`
	SHA256      string             `json:"sha256"`
	Status      string             `json:"status"`
	Message     string             `json:"message,omitempty"`
	Group       string             `json:"group,omitempty"`
	Config      string             `json:"config,omitempty"`
	MinHealthy  int                `json:"min_healthy,omitempty"`
	RollbackOf  string             `json:"rollback_of,omitempty"`
	RolledBack  string             `json:"rolled_back_by,omitempty"`
	Targets     []DeploymentTarget `json:"targets"`
	CreateTime  time.Time          `json:"create_time"`
	EndTime     *time.Time         `json:"end_time,omitempty"`
	ModifyIndex uint64             `json:"modify_index"`
	// HostStatus is, in a list of one host's deployments (?host=), that host's own status in
	// the deployment (as its target's); empty otherwise.
	HostStatus string `json:"host_status,omitempty"`
}

// DeploymentTarget is one host's part.
type DeploymentTarget struct {
	Host         string           `json:"host"`
	Status       string           `json:"status"` // waiting, pending, in_progress, succeeded, failed, skipped, stopped
	Message      string           `json:"message,omitempty"`
	Events       []LifecycleEvent `json:"events,omitempty"`
	LogTruncated bool             `json:"log_truncated,omitempty"`
	// EventsTruncated says the server dropped some of the host's event records (at most 256
	// are kept per host of a deployment).
	EventsTruncated bool `json:"events_truncated,omitempty"`
}

// LifecycleEvent is one event's (or one script's) outcome on a host.
type LifecycleEvent struct {
	Name     string     `json:"name"`
	Script   string     `json:"script,omitempty"`
	Status   string     `json:"status"`
	Result   string     `json:"result,omitempty"`
	ExitCode int        `json:"exit_code,omitempty"`
	Message  string     `json:"message,omitempty"`
	Start    *time.Time `json:"start,omitempty"`
	End      *time.Time `json:"end,omitempty"`
}

// DeploymentList is the answer of GET /v1/deployments: a page of deployments, oldest first
// (newest first with ?order=newest; ?limit=, at most 1000, default 100), filtered by ?app=,
// ?group=, ?host= (a host's name: the deployments that target it, each with that host's target only
// and its HostStatus),
// ?status= and ?since= (RFC 3339: created at or after). Next, when set, is the ?next= of the
// following page: the deployments created after (before, newest first) the page's last one.
type DeploymentList struct {
	Deployments []Deployment `json:"deployments"`
	Next        string       `json:"next,omitempty"`
}

// DeploymentFilter selects deployments in a list: of App, of Group (a group name; of any app
// unless App is set), targeting Host (a host name), with Status, created at or after Since;
// each when set. Newest lists them newest first.
type DeploymentFilter struct {
	App, Group, Host, Status string
	Since                    time.Time
	Newest                   bool
}

// LogLine is one line of a hook script's output.
type LogLine = agentproto.LogLine

// DeploymentLogs is the answer of GET /v1/deployments/{id}/logs?host=NAME&after=SEQ.
type DeploymentLogs struct {
	Host  string    `json:"host"`
	Lines []LogLine `json:"lines"`
	// Next is the sequence to pass as after= to get only newer lines.
	Next      uint64 `json:"next"`
	Truncated bool   `json:"truncated,omitempty"`
}

// WatchMessage is one message of the GET /v1/deployments/{id}/watch websocket: the deployment
// whenever it changes, and output lines as they are committed. The server closes the socket
// (1000, with the final status as the reason) after the deployment has finished and everything
// was sent.
//
// A watch resumes where a client left it with ?index=N (the ModifyIndex of the last deployment
// received: only a newer one is sent) and one ?after=HOST:SEQ per host (the Next of the last
// lines received for HOST: only later lines are sent).
type WatchMessage struct {
	Deployment *Deployment `json:"deployment,omitempty"`
	Host       string      `json:"host,omitempty"`
	Lines      []LogLine   `json:"lines,omitempty"`
	// Next is, with Lines, the host's log sequence they reach: resume with after=HOST:Next.
	Next uint64 `json:"next,omitempty"`
}
