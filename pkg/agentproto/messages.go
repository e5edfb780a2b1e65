package agentproto

import (
	"encoding/json"
	"time"
)

// Message types carried in Envelope.Type.
const (
	TypeHello     = "hello"     // server → agent, first message of a session
	TypeRun       = "run"       // server → agent
	TypeCancel    = "cancel"    // server → agent
	TypeAck       = "ack"       // server → agent
	TypeHeartbeat = "heartbeat" // agent → server
	TypeEvent     = "event"     // agent → server
	TypeLog       = "log"       // agent → server
)

// Envelope is one websocket message.
type Envelope struct {
	Type string          `json:"type"`
	Body json.RawMessage `json:"body,omitempty"`
}

// Register is the body of POST /v1/agent/register.
type Register struct {
	HostID       string            `json:"host_id"`
	Secret       string            `json:"secret"`
	Name         string            `json:"name"`
	Tags         map[string]string `json:"tags,omitempty"`
	Hostname     string            `json:"hostname"`
	OS           string            `json:"os"`
	Arch         string            `json:"arch"`
	AgentVersion string            `json:"agent_version"`
	// CSR is a PEM certificate request for the agent's own key (see "Identity"). Only its public
	// key is used; the server names the certificate after HostID. Required when the API is TLS.
	CSR string `json:"csr,omitempty"`
}

// RegisterReply answers a registration.
type RegisterReply struct {
	HostID  string   `json:"host_id"`
	Name    string   `json:"name"`
	Servers []string `json:"servers"` // every server's HTTP URL
	// Certificate is the host certificate (PEM) signed from Register.CSR, and CA the cluster CA
	// certificate (PEM) that signed it. Both are empty when no CSR was sent or the server has no
	// cluster CA (plain HTTP).
	Certificate string `json:"certificate,omitempty"`
	CA          string `json:"ca,omitempty"`
}

// CertificateRequest is the body of POST /v1/agent/certificate: a host certificate renewal.
type CertificateRequest struct {
	CSR string `json:"csr"` // PEM certificate request for the agent's key
}

// CertificateReply answers a renewal: the new host certificate and the CA that signed it (PEM).
type CertificateReply struct {
	Certificate string    `json:"certificate"`
	CA          string    `json:"ca"`
	NotAfter    time.Time `json:"not_after"`
}

// Hello opens a session.
type Hello struct {
	HostID            string        `json:"host_id"`
	ServerID          string        `json:"server_id"`
	HeartbeatInterval time.Duration `json:"heartbeat_interval"`
	Servers           []string      `json:"servers"`
	// Protocol is the server's ProtocolVersion; 0 (absent) from a server of protocol 1.
	Protocol int `json:"protocol,omitempty"`
	// Kinds are the kinds of work the server dispatches; absent from a server of protocol 1,
	// which dispatches deployments only.
	Kinds []string `json:"kinds,omitempty"`
}

// Heartbeat says the agent is alive and what it is running.
type Heartbeat struct {
	Running []string `json:"running,omitempty"` // deployment IDs (work of KindDeploy)
	// Work lists the running work of every other kind, by kind. Deployments stay in Running,
	// where a server of protocol 1 looks for them.
	Work map[string][]string `json:"work,omitempty"`
}

// Revision is what a deployment installs.
type Revision struct {
	ID     string `json:"id"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Format string `json:"format"` // tar, tar.gz or zip
	// URL path of the content on any server, e.g. /v1/agent/deployments/ID/bundle.
	Path string `json:"path"`
}

// Run asks the agent to run a deployment on its host.
//
// Every message about work (Run, Cancel, Ack, Event, Log) names it by kind and ID: Kind (see
// KindOf; absent means KindDeploy, and senders leave it out for deployments, see WireKind) and
// DeploymentID, which holds the ID of the work whatever its kind (the field keeps the name
// protocol 1 gave it). A kind other than KindDeploy adds its own fields to Run.
type Run struct {
	Kind         string   `json:"kind,omitempty"`
	DeploymentID string   `json:"deployment_id"`
	App          string   `json:"app"`
	Group        string   `json:"group"`    // deployment group name ("" for hosts named directly)
	GroupID      string   `json:"group_id"` // stable ID used for the on-disk layout and records
	Revision     Revision `json:"revision"`
	// IgnoreApplicationStopFailures lets a broken stop script of the previous revision be skipped.
	IgnoreApplicationStopFailures bool `json:"ignore_application_stop_failures,omitempty"`
	// HealthCheck, when set, is checked after ValidateService succeeded (see HealthCheckEvent).
	// Absent from a deployment whose group has none, so such a Run is byte for byte as before.
	HealthCheck *HealthCheck `json:"health_check,omitempty"`
}

// Cancel asks the agent to stop a deployment.
type Cancel struct {
	Kind         string `json:"kind,omitempty"`
	DeploymentID string `json:"deployment_id"`
	Reason       string `json:"reason,omitempty"`
}

// Ack confirms that reports of a deployment up to Seq are committed.
type Ack struct {
	Kind         string `json:"kind,omitempty"`
	DeploymentID string `json:"deployment_id"`
	Seq          uint64 `json:"seq"`
}

// Status of a lifecycle event or a deployment on a host.
type Status string

// Statuses.
const (
	StatusStarted   Status = "started"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusSkipped   Status = "skipped"
)

// Result codes of a script, as the spec lists them.
const (
	ResultSucceeded      = "succeeded"
	ResultScriptMissing  = "script_missing"
	ResultNotExecutable  = "not_executable"
	ResultTimedOut       = "timed_out"
	ResultFailed         = "script_failed" // non-zero exit; ExitCode says which
	ResultUnknownError   = "unknown_error"
	ResultOutputLeftOpen = "output_left_open" // the script exited, a child kept its output open
	ResultAgentRestarted = "failed_after_agent_restart"
	ResultCancelled      = "cancelled"
)

// DeploymentEnd is the Event.Event value that reports the whole deployment's outcome.
const DeploymentEnd = "DeploymentEnd"

// Event reports a lifecycle event's progress, or the deployment's end (Event == DeploymentEnd).
type Event struct {
	Kind         string    `json:"kind,omitempty"`
	DeploymentID string    `json:"deployment_id"`
	Seq          uint64    `json:"seq"`
	Event        string    `json:"event"`
	Status       Status    `json:"status"`
	Script       string    `json:"script,omitempty"` // for a script's own result
	Result       string    `json:"result,omitempty"` // one of the Result* codes
	ExitCode     int       `json:"exit_code,omitempty"`
	Message      string    `json:"message,omitempty"`
	Time         time.Time `json:"time"`
	// Build is a build's outcome, on its BuildEnd event only (KindBuild).
	Build *BuildOutcome `json:"build,omitempty"`
}

// LogLine is one line of a script's output.
type LogLine struct {
	Time   time.Time `json:"time"`
	Event  string    `json:"event"`
	Script string    `json:"script"`
	Stream string    `json:"stream"` // stdout or stderr
	Text   string    `json:"text"`
}

// Log carries output lines of one deployment.
type Log struct {
	Kind         string    `json:"kind,omitempty"`
	DeploymentID string    `json:"deployment_id"`
	Seq          uint64    `json:"seq"`
	Lines        []LogLine `json:"lines"`
}

// MaxLineBytes bounds one log line; longer lines are cut and marked.
const MaxLineBytes = 16 << 10

// Encode wraps a body in an envelope.
func Encode(typ string, body any) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return json.Marshal(Envelope{Type: typ, Body: b})
}
