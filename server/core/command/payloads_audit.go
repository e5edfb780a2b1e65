package command

// The audit trail's own commands. Numbers from 256 up below 1000 are the core's (services take
// theirs from 1000 up, in their ranges); these are the first the core takes there.
const (
	TypeAuditAppend Type = 256
	TypeAuditTrim   Type = 257
)

// Bounds of the audit commands: records per audit.append, records trimmed per audit.trim.
const (
	MaxAuditAppend = 256
	MaxAuditTrim   = 10_000
)

var (
	// AuditAppendCmd appends records made outside a command (denied requests, a principal's
	// first request of the day) to the audit trail, in order.
	AuditAppendCmd = Define[AuditAppend](TypeAuditAppend, "audit.append", 1)
	// AuditTrimCmd trims the audit records older than a retention cutoff.
	AuditTrimCmd = Define[AuditTrim](TypeAuditTrim, "audit.trim", 1)
)

// AuditAppend carries at most MaxAuditAppend audit records, without their chain fields (the
// FSM numbers and chains them).
type AuditAppend struct {
	Records []AuditEntry `json:"records"`
}

// AuditEntry is one audit record as the API edge saw it (see audit.Record for the fields).
// Time is unix nanoseconds; 0 takes the command's time.
type AuditEntry struct {
	Time      int64  `json:"time,omitempty"`
	Kind      string `json:"kind"`
	ID        string `json:"id,omitempty"`
	Name      string `json:"name,omitempty"`
	Action    string `json:"action,omitempty"`
	Resource  string `json:"resource,omitempty"`
	Source    string `json:"source,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	Outcome   string `json:"outcome"`
	ErrorCode string `json:"error_code,omitempty"`
	Detail    string `json:"detail,omitempty"`
}

// AuditTrim trims, oldest first, the audit records whose time is before Cutoff (unix
// nanoseconds, the proposer's clock minus the retention), at most Limit of them (1 to
// MaxAuditTrim; 0 is MaxAuditTrim).
type AuditTrim struct {
	Cutoff int64 `json:"cutoff"`
	Limit  int   `json:"limit,omitempty"`
}
