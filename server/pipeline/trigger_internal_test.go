package pipeline

import (
	"encoding/json"
	"testing"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/git/hooks"
)

const (
	commitA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	commitB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// TestGitEvents: a push yields one event per updated ref that is not a deletion; a pull
// request's opened, reopened, revised, closed and merged map to OPEN, OPEN, UPDATED, CLOSED,
// CLOSED with its source commit and merge base; other events yield none.
func TestGitEvents(t *testing.T) {
	push := hooks.Body{ID: "00000000000000000001", Type: hooks.TypePush, Repository: hooks.RepoRef{Name: "web"},
		Payload: json.RawMessage(`{"refs":[{"ref":"refs/heads/main","old":"` + commitA + `","new":"` + commitB + `"},` +
			`{"ref":"refs/heads/gone","old":"` + commitA + `","new":"` + zeroCommit + `"}]}`)}
	got := gitEvents(push)
	if len(got) != 1 || got[0].ref != "refs/heads/main" || got[0].new != commitB || got[0].old != commitA || got[0].kind != pub.TriggerPush {
		t.Fatalf("push: %+v", got)
	}
	for action, want := range map[string]string{"opened": "OPEN", "reopened": "OPEN", "revised": "UPDATED", "closed": "CLOSED", "merged": "CLOSED", "edited": ""} {
		pr := hooks.Body{Type: hooks.TypePullRequest, Repository: hooks.RepoRef{Name: "web"}, Payload: json.RawMessage(`{"action":"` + action +
			`","pull_request":{"source":"feature","destination":"main","revision":{"source_commit":"` + commitB + `","destination_commit":"` + commitA + `"}}}`)}
		got := gitEvents(pr)
		if want == "" {
			if len(got) != 0 {
				t.Errorf("%s: %+v; want nothing", action, got)
			}
			continue
		}
		if len(got) != 1 || got[0].prEvent != want || got[0].destination != "main" || got[0].new != commitB || got[0].old != commitA || got[0].ref != "refs/heads/feature" {
			t.Errorf("%s: %+v; want %s", action, got, want)
		}
	}
	if got := gitEvents(hooks.Body{Type: hooks.TypeCreate, Payload: json.RawMessage(`{}`)}); len(got) != 0 {
		t.Fatalf("create: %+v", got)
	}
}

// FuzzGitEvents: any payload of any event type is read without a panic, and an event it
// yields always names a commit that is not the zero ID.
func FuzzGitEvents(f *testing.F) {
	f.Add(hooks.TypePush, `{"refs":[{"ref":"refs/heads/main","old":"`+commitA+`","new":"`+commitB+`"}]}`)
	f.Add(hooks.TypePush, `{"refs":[{"ref":"refs/tags/v1","old":"`+zeroCommit+`","new":"`+commitB+`"}]}`)
	f.Add(hooks.TypePullRequest, `{"action":"opened","pull_request":{"source":"f","destination":"main","revision":{"source_commit":"`+commitB+`"}}}`)
	f.Add(hooks.TypePullRequest, `{"action":7}`)
	f.Add("other", `null`)
	f.Fuzz(func(t *testing.T, typ, payload string) {
		for _, g := range gitEvents(hooks.Body{Type: typ, Payload: json.RawMessage(payload)}) {
			if g.kind == pub.TriggerPush && (g.new == zeroCommit || g.new == "") {
				t.Fatalf("a deletion yielded %+v", g)
			}
		}
	})
}
