package deploy

import (
	"context"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/module"
)

// TestResolveRevision: a revision is found by its ID, a unique prefix or latest (per
// application); an ambiguous prefix is refused with the candidates, a prefix too short or
// another application's revision with what to do.
func TestResolveRevision(t *testing.T) {
	f := newFSM(t)
	f.setUp() // app web, revision r1
	for _, c := range []struct {
		typ command.Type
		p   map[string]any
	}{
		{20, map[string]any{"name": "api"}},
		{30, map[string]any{"sha256": strings.Repeat("b", 64), "size": 1}},
		{30, map[string]any{"sha256": strings.Repeat("c", 64), "size": 1}},
		{40, map[string]any{"id": "abcd1111-web", "app": "web", "sha256": strings.Repeat("b", 64), "size": 1, "format": "tar"}},
		{40, map[string]any{"id": "abcd2222-web", "app": "web", "sha256": strings.Repeat("c", 64), "size": 1, "format": "tar"}},
		{40, map[string]any{"id": "abce3333-api", "app": "api", "sha256": strings.Repeat("b", 64), "size": 1, "format": "tar"}},
	} {
		if r := f.apply(legacy(c.typ, c.p)); r.Code != "" {
			t.Fatalf("%d: %s %s", c.typ, r.Code, r.Message)
		}
	}
	revs := &Revisions{core: &module.Core{Cluster: fsmCluster{f}, State: f.f.Store()}}
	ctx := context.Background()
	for _, tc := range []struct {
		app, ref string
		want     string     // the ID found
		code     fault.Code // or the error's code
		msg      []string   // and what its message says
	}{
		{ref: "r1", want: "r1"},
		{ref: "abcd1", want: "abcd1111-web"},
		{app: "web", ref: "abcd2", want: "abcd2222-web"},
		{app: "web", ref: "latest", want: "abcd2222-web"},
		{app: "api", ref: "latest", want: "abce3333-api"},
		{app: "api", ref: "abc", code: fault.NotFound, msg: []string{"at least 4 characters"}},
		{app: "api", ref: "abcd", code: fault.NotFound, msg: []string{`application "api" has no revision "abcd"`}},
		{ref: "abcd", code: fault.Invalid, msg: []string{"ambiguous", "abcd1111-web (web)", "abcd2222-web (web)"}},
		{app: "web", ref: "abc", code: fault.NotFound},
		{ref: "latest", code: fault.Invalid, msg: []string{"--app"}},
		{app: "api", ref: "r1", code: fault.NotFound, msg: []string{`application "web"'s, not "api"'s`}},
		{app: "nope", ref: "latest", code: fault.NotFound},
	} {
		got, err := revs.Resolve(ctx, tc.app, tc.ref)
		switch {
		case tc.want != "" && (err != nil || got.ID != tc.want):
			t.Errorf("Resolve(%q, %q) = %q, %v; want %s", tc.app, tc.ref, got.ID, err, tc.want)
		case tc.want == "" && fault.CodeOf(err) != tc.code:
			t.Errorf("Resolve(%q, %q) = %q, %v; want a %s error", tc.app, tc.ref, got.ID, err, tc.code)
		}
		for _, m := range tc.msg {
			if err == nil || !strings.Contains(err.Error(), m) {
				t.Errorf("Resolve(%q, %q): error %v lacks %q", tc.app, tc.ref, err, m)
			}
		}
	}
}
