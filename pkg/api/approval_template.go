package api

import "time"

// ApprovalTemplate is an approval rule template (CodeCommit's): a rule, Approvals approvals of a
// pull request's current revision from Pool (user names, "group:NAME", or globs over user
// names), that applies to every pull request of an associated repository whose destination
// branch matches one of Branches (path.Match patterns over branch names; none: every branch).
// A pull request's evaluation shows it as a rule named after the template.
type ApprovalTemplate struct {
	Name         string    `json:"name"`
	Description  string    `json:"description,omitempty"`
	Approvals    int       `json:"approvals"`
	Pool         []string  `json:"pool"`
	Branches     []string  `json:"branches,omitempty"`
	Repositories []string  `json:"repositories,omitempty"`
	CreateTime   time.Time `json:"create_time,omitzero"`
	ModifyTime   time.Time `json:"modify_time,omitzero"`
}
