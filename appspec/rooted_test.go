package appspec

import "testing"

// TestRootedMovesEveryHostPath: destinations and permission objects move under the root, the
// original spec is untouched, and a Windows spec or a relative root changes nothing.
func TestRootedMovesEveryHostPath(t *testing.T) {
	s := &Spec{OS: "linux",
		Files:       []FileMapping{{Source: "site", Destination: "/srv/hello/site"}, {Source: "/", Destination: "/"}},
		Permissions: []Permission{{Object: "/srv/hello", Mode: "755"}},
	}
	r := s.Rooted("/home/me/.slipway-dev/agents/dev-1/root")
	if got := r.Files[0].Destination; got != "/home/me/.slipway-dev/agents/dev-1/root/srv/hello/site" {
		t.Errorf("destination = %q", got)
	}
	if got := r.Files[1].Destination; got != "/home/me/.slipway-dev/agents/dev-1/root" {
		t.Errorf("destination of / = %q", got)
	}
	if got := r.Permissions[0].Object; got != "/home/me/.slipway-dev/agents/dev-1/root/srv/hello" {
		t.Errorf("permissions object = %q", got)
	}
	if s.Files[0].Destination != "/srv/hello/site" || s.Permissions[0].Object != "/srv/hello" {
		t.Errorf("the original spec changed: %+v", s)
	}
	if s.Rooted("relative/root") != s || s.Rooted("") != s {
		t.Error("a relative or empty root changed the spec")
	}
	w := &Spec{OS: "windows", Files: []FileMapping{{Source: "/", Destination: `C:\app`}}}
	if w.Rooted("/x") != w {
		t.Error("a Windows spec was rooted")
	}
}
