package server

import "github.com/slipwayhq/slipway/server/core/auditlog"

// AuditLog returns the server's audit module: its Writer (denied requests and activity, which
// the API edge records through api.Config.Audit) and its retention step (for tests and
// embedding).
func (s *Server) AuditLog() *auditlog.Module { return s.audit }
