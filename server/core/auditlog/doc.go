// Package auditlog stores and serves the audit trail (server/core/audit): the Writer that brings
// records made outside a command (denied requests, each principal's first request of the day)
// into the replicated state through the audit.append command, the retention task that trims it
// (audit.trim), and the /v1/audit routes that list, export and report on it. The records of
// authorized writes are appended by the FSM itself, from the command's Caller. See DESIGN.md.
package auditlog
