package pipeline

import (
	"slices"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/server/core/module"
)

// service is the service's own runtime state on this server (none of it replicated): the lock
// that lets providers be added while the server runs (SetProvider), and the webhook deliveries
// this server accepted lately (webhook.go).
type service struct {
	mu         sync.RWMutex
	deliveries map[string]time.Time // webhook delivery key -> when accepted
}

// registerService declares the routes and the leader's tasks: the driver (driver.go: runs the
// actions' work through providers, stops abandoned work, ends actions past their deadline) and
// the trigger (trigger.go: starts executions from the repositories' event stream).
func (m *Module) registerService(r *module.Registry) {
	r.Routes(m.routes()...)
	r.Leader("driver", m.drive)
	r.Leader("trigger", m.trigger)
}

// SetProvider wires provider p under its normalized name while the server runs (a plugin
// provider, a test's fake). The server's own are set in Providers before Register.
func (m *Module) SetProvider(name string, p Provider) {
	m.svc.mu.Lock()
	defer m.svc.mu.Unlock()
	if m.Providers == nil {
		m.Providers = Providers{}
	}
	m.Providers[name] = p
}

// provider answers the provider wired under name.
func (m *Module) provider(name string) (Provider, bool) {
	m.svc.mu.RLock()
	defer m.svc.mu.RUnlock()
	p, ok := m.Providers[name]
	return p, ok
}

// providerNames answers the wired providers' names and Manual, sorted.
func (m *Module) providerNames() []string {
	m.svc.mu.RLock()
	defer m.svc.mu.RUnlock()
	out := []string{"Manual"}
	for n := range m.Providers {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// SetChanges wires the repositories' reader while the server runs (a test's); the server sets
// Changes before Register.
func (m *Module) SetChanges(c Changes) {
	m.svc.mu.Lock()
	defer m.svc.mu.Unlock()
	m.Changes = c
}

// changes answers the wired repositories' reader (nil: none).
func (m *Module) changes() Changes {
	m.svc.mu.RLock()
	defer m.svc.mu.RUnlock()
	return m.Changes
}
