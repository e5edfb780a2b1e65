package pipelinespec

import (
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	values := map[string]string{
		"variables.env":          "prod",
		"BuildVariables.GROUP":   "web-hosts",
		"SourceVariables.Commit": "abc123",
		"ns.a.b":                 "dotted",
		"ns.x":                   "#{variables.env}",
	}
	lookup := func(ns, name string) (string, bool) {
		v, ok := values[ns+"."+name]
		return v, ok
	}
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "plain text", want: "plain text"},
		{in: "", want: ""},
		{in: "#{BuildVariables.GROUP}", want: "web-hosts"},
		{in: "deploy #{SourceVariables.Commit} to #{variables.env}!", want: "deploy abc123 to prod!"},
		{in: "#{ns.a.b}", want: "dotted"},
		{in: "#{ns.x}", want: "#{variables.env}"}, // answers are not scanned again
		{in: "# {not} {a.b} #x", want: "# {not} {a.b} #x"},
		{in: "#{variables.missing}", err: `#{variables.missing}: the pipeline has no variable "missing"`},
		{in: "#{Nope.X}", err: `#{Nope.X}: namespace "Nope" has no variable "X"`},
		{in: "#{BuildVariables}", err: `"#{BuildVariables}" is not a reference`},
		{in: "#{a b.c}", err: `"#{a b.c}" is not a reference`},
		{in: "echo #{variables.env", err: `"#{variables.env" has no closing }`},
		{in: "#{.x}", err: "is not a reference"},
	} {
		got, err := Resolve(tc.in, lookup)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Resolve(%q) error = %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("Resolve(%q): %v", tc.in, err)
		case tc.err == "" && got != tc.want:
			t.Errorf("Resolve(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestReferences(t *testing.T) {
	refs, err := References("a #{x.y} b #{variables.z}")
	if err != nil || len(refs) != 2 {
		t.Fatalf("References = %v, %v", refs, err)
	}
	if refs[0].Namespace != "x" || refs[0].Name != "y" || refs[1].String() != "#{variables.z}" {
		t.Errorf("refs = %+v", refs)
	}
	if refs[0].Start != 2 || refs[0].End != 8 {
		t.Errorf("offsets %d-%d", refs[0].Start, refs[0].End)
	}
}
