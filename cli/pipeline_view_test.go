package cli

import (
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/api"
)

// TestActionDetail: an action's line says its error, its summary and its approval: the wait's
// end while it waits, the answer once answered (only the comment when the summary already says
// who answered).
func TestActionDetail(t *testing.T) {
	exp := time.Date(2026, 1, 9, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name string
		a    api.ActionExecution
		want string
	}{
		{"nothing", api.ActionExecution{Status: api.PipelineSucceeded}, ""},
		{"error and summary", api.ActionExecution{Error: "build ended FAILED", Summary: "build web:1"}, "error: build ended FAILED; build web:1"},
		{"waiting", api.ActionExecution{Status: api.PipelineInProgress, Approval: &api.ApprovalState{Expires: exp}}, "waiting for approval until 2026-01-09T03:04:05Z"},
		{"answered", api.ActionExecution{Status: api.PipelineFailed, Approval: &api.ApprovalState{Result: api.ApprovalRejected, By: "bob", Comment: "red canary"}},
			"Rejected by bob: red canary"},
		{"answered with a summary", api.ActionExecution{Status: api.PipelineSucceeded, Summary: "approved by bob",
			Approval: &api.ApprovalState{Result: api.ApprovalApproved, By: "bob", Comment: "ok"}}, "approved by bob; comment: ok"},
		{"timed out", api.ActionExecution{Status: api.PipelineFailed, Error: "no answer in 7 days", Approval: &api.ApprovalState{Expires: exp}}, "error: no answer in 7 days"},
	} {
		if got := actionDetail(tc.a); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestTriggerText: what started an execution, in one line.
func TestTriggerText(t *testing.T) {
	for _, tc := range []struct {
		tr   api.PipelineTrigger
		want string
	}{
		{api.PipelineTrigger{Type: api.TriggerManual, Actor: "alice"}, "manual by alice"},
		{api.PipelineTrigger{Type: api.TriggerPush, Repository: "web", Ref: "refs/heads/main", Commit: "1a2b3c4d5e6f7a8b9c0d"}, "push: web refs/heads/main 1a2b3c4d5e6f"},
		{api.PipelineTrigger{Type: api.TriggerRollback, Detail: "stage Deploy"}, "rollback: stage Deploy"},
		{api.PipelineTrigger{}, "-"},
	} {
		if got := triggerText(tc.tr); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.tr, got, tc.want)
		}
	}
}
