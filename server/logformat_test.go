package server

import (
	"slices"
	"testing"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/config"
	"github.com/slipwayhq/slipway/server/core/module"
)

// released is every command type a released Slipway wrote to a Raft log: its number, name and
// the newest payload schema version that release wrote. Logs and snapshots outlive binaries, so
// no number or name may ever change or disappear, wherever its code moves (a service's own
// package since issue 14), and a binary must understand at least that version (a later schema
// version is how a rule changes for new entries only; older ones apply as they did).
var released = []command.Info{
	{Type: 1, Name: "batch", Version: 1},
	{Type: 2, Name: "cluster.init", Version: 1},
	{Type: 3, Name: "node.register", Version: 1},
	{Type: 4, Name: "noop", Version: 1},
	{Type: 10, Name: "acl.bootstrap", Version: 1},
	{Type: 11, Name: "token.create", Version: 1},
	{Type: 12, Name: "token.revoke", Version: 1},
	{Type: 20, Name: "app.create", Version: 1},
	{Type: 21, Name: "app.delete", Version: 1},
	{Type: 22, Name: "app.update", Version: 1},
	{Type: 30, Name: "blob.register", Version: 1},
	{Type: 31, Name: "blob.delete", Version: 1},
	{Type: 40, Name: "revision.create", Version: 1},
	{Type: 50, Name: "host_token.create", Version: 1},
	{Type: 51, Name: "host.register", Version: 2},
	{Type: 52, Name: "host.delete", Version: 1},
	{Type: 53, Name: "host.tag", Version: 1},
	{Type: 54, Name: "host.status", Version: 1},
	{Type: 55, Name: "host_token.revoke", Version: 1},
	{Type: 60, Name: "deployment.create", Version: 1},
	{Type: 61, Name: "deployment.report", Version: 1},
	{Type: 62, Name: "deployment.fail_host", Version: 1},
	{Type: 65, Name: "deployment.stop", Version: 1},
	{Type: 70, Name: "group.put", Version: 1},
	{Type: 71, Name: "group.delete", Version: 1},
	{Type: 72, Name: "config.create", Version: 1},
	{Type: 80, Name: "keyring.add", Version: 1},
}

// TestReleasedCommandsNeverChange: every released command keeps its number and name, this binary
// understands at least its released schema version, and the assembled server (core and every
// listed service) has a handler for each; new commands take numbers from 256 up, in the ranges of
// their service.
func TestReleasedCommandsNeverChange(t *testing.T) {
	reg := register(config.Config{}, &module.Core{}, coreModule{})
	handled := reg.Table().Types()
	defined := command.Defined()
	for _, want := range released {
		i := slices.IndexFunc(defined, func(d command.Info) bool { return d.Type == want.Type })
		if i < 0 {
			t.Errorf("released command %d (%s) is no longer defined: entries in existing logs could not be applied", want.Type, want.Name)
			continue
		}
		if defined[i].Name != want.Name || defined[i].Version < want.Version {
			t.Errorf("released command %d changed: %+v, was %+v (same number and name, and at least that version)", want.Type, defined[i], want)
		}
		if want.Type != command.TypeBatch && !slices.Contains(handled, want.Type) {
			t.Errorf("released command %d (%s) has no handler in the assembled server", want.Type, want.Name)
		}
	}
	for _, d := range defined {
		if !slices.ContainsFunc(released, func(r command.Info) bool { return r.Type == d.Type }) && d.Type < 256 {
			t.Errorf("new command %d (%s) takes a number below 256: new commands use their service's range", d.Type, d.Name)
		}
		if d.Type != command.TypeBatch && !slices.Contains(handled, d.Type) {
			t.Errorf("command %d (%s) is defined but no module handles it", d.Type, d.Name)
		}
	}
}
