// Package systemd holds Slipway's systemd units, embedded so the binaries that install them
// carry the very files operators read here.
package systemd

import _ "embed"

// AgentUnit is slipway-agent.service: a template in github.com/kardianos/service's syntax that
// agent/service renders (ExecStart, Description) and installs.
//
//go:embed slipway-agent.service
var AgentUnit string
