package policy

// Document is a policy as its author wrote it: the AWS IAM identity-policy shape. Parse builds
// one from JSON or YAML; built-in policies build one in Go. A Document is data only: Compile
// checks it and turns it into the Policy that Evaluate reads.
//
// Every list field holds what the author wrote in order; a single string in the source becomes
// a one-item list. json.Marshal writes a Document in the language's JSON (see
// Statement.MarshalJSON); read one back with Parse.
type Document struct {
	// Version is the language version: VersionAWS ("2012-10-17") or VersionSlipway. Both mean
	// the same language today; Slipway's own string exists so a later change of meaning can be
	// told apart without reusing AWS's date.
	Version string `json:"Version"`
	// ID is the optional Id element, kept for the author; evaluation ignores it.
	ID        string      `json:"Id,omitempty"`
	Statement []Statement `json:"Statement"`
}

// Statement is one Allow or Deny rule. Exactly one of Action and NotAction, and exactly one of
// Resource and NotResource, is set.
type Statement struct {
	// Sid is an optional name, unique within its document: letters and digits only, as AWS.
	Sid string `json:"Sid,omitempty"`
	// Effect is EffectAllow or EffectDeny, spelt exactly so.
	Effect string `json:"Effect"`
	// Action lists "service:Name" patterns (or "*"); a statement with Action applies to a
	// request whose action matches any of them. NotAction applies to every action that
	// matches none.
	Action    []string `json:"Action,omitempty"`
	NotAction []string `json:"NotAction,omitempty"`
	// Resource lists resource-name patterns; NotResource its complement, as for actions.
	Resource    []string `json:"Resource,omitempty"`
	NotResource []string `json:"NotResource,omitempty"`
	// Condition holds the statement's condition entries in document order. All of them must
	// hold for the statement to apply. (MarshalJSON writes it in the language's nested form.)
	Condition []Condition `json:"-"`
}

// Condition is one entry of a Condition block: `Operator: {Key: Values}`. Values are OR-ed:
// the entry holds when the request's value for Key matches any of them (for a negated operator,
// none of them).
type Condition struct {
	// Operator is the full operator name as written, "...IfExists" suffix included.
	Operator string
	// Key is a context key such as "slipway:SourceIp"; keys are matched case-insensitively.
	Key string
	// Values are the values as text (a YAML or JSON number or boolean is kept as its text).
	Values []string
}

// The policy language versions Parse accepts.
const (
	VersionAWS     = "2012-10-17"
	VersionSlipway = "slipway-2026-12"
)

// The two effects.
const (
	EffectAllow = "Allow"
	EffectDeny  = "Deny"
)

// Bounds on a document. A document over them is refused with a diagnostic naming the bound, so
// parsing and evaluation cost stays bounded whatever a caller sends.
const (
	MaxDocumentBytes   = 64 << 10 // the whole document, as sent
	MaxStatements      = 100      // statements in one document
	MaxListValues      = 100      // items in any one list (Action, Resource, condition values)
	MaxConditions      = 100      // operator-key entries in one statement's Condition
	MaxPatternLength   = 1024     // one action, resource or condition value, in bytes
	MaxNameLength      = 128      // a Sid, a condition key, an Id, in bytes
	maxDiagnosticCount = 20       // a hostile document gets this many, then a summary
)
