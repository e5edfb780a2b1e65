package gitproto

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// fromReceivePack is what receive-pack sends the hook, as git 2.39 writes it.
func fromReceivePack(t testing.TB, features string, cmds []string, opts []string) []byte {
	lines := []string{"version=1"}
	if features != "" {
		lines[0] += "\x00" + features
	}
	lines = append(lines, "")
	lines = append(lines, cmds...)
	lines = append(lines, "")
	if opts != nil {
		lines = append(lines, opts...)
		lines = append(lines, "")
	}
	return request(t, "", lines...)
}

func TestProcReceive(t *testing.T) {
	cmds := []string{zero40 + " " + idA + " refs/heads/a", idA + " " + idB + " refs/heads/b"}
	in := fromReceivePack(t, "atomic push-options", cmds, []string{"ci.skip"})
	var out bytes.Buffer
	p, err := ReadProcReceive(bytes.NewReader(in), &out, ReceiveLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != pkt("version=1\x00push-options\n")+"0000" {
		t.Fatalf("version answer %q", got)
	}
	if !p.Atomic() || len(p.Commands) != 2 || p.Commands[1] != (Command{idA, idB, "refs/heads/b"}) || strings.Join(p.PushOptions, ",") != "ci.skip" {
		t.Fatalf("%+v", p)
	}

	t.Run("per ref answers in command order", func(t *testing.T) {
		p := &ProcReceive{Commands: p.Commands}
		var b bytes.Buffer
		must(t, p.Respond(&b, []Result{{Ref: "refs/heads/b", Reason: "fetch first"}, {Ref: "refs/heads/a"}}))
		if want := pkt("ok refs/heads/a\n") + pkt("ng refs/heads/b fetch first\n") + "0000"; b.String() != want {
			t.Fatalf("answer %q, want %q", b.String(), want)
		}
	})
	t.Run("atomic: one rejection rejects every ref", func(t *testing.T) {
		var b bytes.Buffer
		must(t, p.Respond(&b, []Result{{Ref: "refs/heads/a"}, {Ref: "refs/heads/b", Reason: "fetch first"}}))
		if want := pkt("ng refs/heads/a atomic push failure\n") + pkt("ng refs/heads/b fetch first\n") + "0000"; b.String() != want {
			t.Fatalf("answer %q, want %q", b.String(), want)
		}
	})
	t.Run("atomic: all accepted", func(t *testing.T) {
		var b bytes.Buffer
		must(t, p.Respond(&b, []Result{{Ref: "refs/heads/a"}, {Ref: "refs/heads/b"}}))
		if want := pkt("ok refs/heads/a\n") + pkt("ok refs/heads/b\n") + "0000"; b.String() != want {
			t.Fatalf("answer %q, want %q", b.String(), want)
		}
	})
	t.Run("reasons are one line", func(t *testing.T) {
		p := &ProcReceive{Commands: p.Commands[:1]}
		var b bytes.Buffer
		must(t, p.Respond(&b, []Result{{Ref: "refs/heads/a", Reason: "line1\nline2\x00" + strings.Repeat("x", 300)}}))
		r := NewReader(&b)
		_, line, _ := r.Next()
		if got := string(line); strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, "ng refs/heads/a line1 line2 x") || len(got) > len("ng refs/heads/a \n")+MaxReasonLen {
			t.Fatalf("line %q", got)
		}
	})
	t.Run("answers must match the commands", func(t *testing.T) {
		for _, rs := range [][]Result{
			{{Ref: "refs/heads/a"}},
			{{Ref: "refs/heads/a"}, {Ref: "refs/heads/a"}},
			{{Ref: "refs/heads/a"}, {Ref: "refs/heads/c"}},
			{{Ref: "refs/heads/a"}, {Ref: "refs/heads/b"}, {Ref: "refs/heads/c"}},
		} {
			var b bytes.Buffer
			if err := p.Respond(&b, rs); err == nil {
				t.Errorf("Respond(%+v) = nil, want an error", rs)
			}
		}
	})
}

func TestProcReceiveWithoutFeatures(t *testing.T) {
	in := fromReceivePack(t, "", []string{zero40 + " " + idA + " refs/heads/main"}, nil)
	var out bytes.Buffer
	p, err := ReadProcReceive(bytes.NewReader(in), &out, ReceiveLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != pkt("version=1\n")+"0000" || p.Atomic() || len(p.Commands) != 1 || p.PushOptions != nil {
		t.Fatalf("answer %q, request %+v", out.String(), p)
	}
}

func TestProcReceiveRefuses(t *testing.T) {
	cmd := zero40 + " " + idA + " refs/heads/main"
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"version 2", request(t, "", "version=2", "", cmd, ""), ErrMalformed},
		{"no version", request(t, "", "", cmd, ""), ErrMalformed},
		{"ends in the commands", request(t, "", "version=1", "", cmd), ErrMalformed},
		{"push options promised, none sent", request(t, "", "version=1\x00push-options", "", cmd, ""), ErrMalformed},
		{"a ref twice", request(t, "", "version=1", "", cmd, cmd, ""), ErrMalformed},
		{"bad ref", request(t, "", "version=1", "", zero40+" "+idA+" refs/heads/a..b", ""), ErrMalformed},
		{"too many", request(t, "", "version=1", "", cmd, zero40+" "+idA+" refs/heads/b", zero40+" "+idA+" refs/heads/c", ""), ErrLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if _, err := ReadProcReceive(bytes.NewReader(tt.in), &out, ReceiveLimits{MaxCommands: 2}); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzReadProcReceive(f *testing.F) {
	f.Add(fromReceivePack(f, "atomic push-options", []string{zero40 + " " + idA + " refs/heads/a"}, []string{"x"}))
	f.Add(fromReceivePack(f, "", []string{idA + " " + zero40 + " refs/tags/v1"}, nil))
	f.Add([]byte("0000"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		p, err := ReadProcReceive(bytes.NewReader(in), &out, ReceiveLimits{MaxCommands: 5})
		if err != nil {
			return
		}
		if len(p.Commands) > 5 {
			t.Fatalf("%d commands", len(p.Commands))
		}
		results := make([]Result, len(p.Commands))
		for i, c := range p.Commands {
			results[i] = Result{Ref: c.Ref, Reason: "no"}
		}
		if err := p.Respond(&out, results); err != nil {
			t.Fatalf("Respond: %v", err)
		}
	})
}

// pkt is s as one data packet, its length computed rather than counted by hand.
func pkt(s string) string { return fmt.Sprintf("%04x", len(s)+4) + s }
