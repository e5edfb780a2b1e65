package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/pkg/api"
)

// How executions read in a terminal: the table of `pipeline execution` and the block the watch
// redraws. Both are pure functions of the API's objects, so a test pins them.

// executionEnded reports whether an execution's status is final. A Failed execution may still
// be retried (it is InProgress again then), but until then it has ended.
func executionEnded(status string) bool {
	switch status {
	case api.PipelineSucceeded, api.PipelineFailed, api.PipelineStopped, api.PipelineSuperseded, api.PipelineCancelled:
		return true
	}
	return false
}

// triggerText says what started an execution: "push by alice: web refs/heads/main 1a2b3c4d5e6f".
func triggerText(t api.PipelineTrigger) string {
	s := cell(t.Type)
	if t.Actor != "" {
		s += " by " + t.Actor
	}
	var where []string
	for _, v := range []string{t.Repository, t.Ref, shortCommitOrEmpty(t.Commit), t.Detail} {
		if v != "" {
			where = append(where, v)
		}
	}
	if len(where) > 0 {
		s += ": " + strings.Join(where, " ")
	}
	return s
}

func shortCommitOrEmpty(c string) string {
	if c == "" {
		return ""
	}
	return shortCommit(c)
}

// statusOrDash is a status that may be "" (not reached, not started).
func statusOrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// actionDuration is how long an ended action ran ("" while it runs or never ran).
func actionDuration(start, end *time.Time) string {
	if start == nil || end == nil || end.Before(*start) {
		return ""
	}
	return end.Sub(*start).Round(100 * time.Millisecond).String()
}

// actionDetail is the one-line account of an action: its error, its summary, its approval.
func actionDetail(a api.ActionExecution) string {
	var parts []string
	if a.Error != "" {
		parts = append(parts, "error: "+a.Error)
	}
	if a.Summary != "" {
		parts = append(parts, a.Summary)
	}
	if ap := a.Approval; ap != nil {
		switch {
		case ap.Result != "" && a.Summary != "":
			// The summary says who answered what; the comment is the approval's own.
			if ap.Comment != "" {
				parts = append(parts, "comment: "+ap.Comment)
			}
		case ap.Result != "":
			s := ap.Result
			if ap.By != "" {
				s += " by " + ap.By
			}
			if ap.Comment != "" {
				s += ": " + ap.Comment
			}
			parts = append(parts, s)
		case a.Status == api.PipelineInProgress:
			parts = append(parts, "waiting for approval until "+formatTime(ap.Expires))
		}
	}
	return strings.Join(parts, "; ")
}

// sortedPairs renders a map as "k=v, k2=v2" in key order.
func sortedPairs(m map[string]string) string {
	keys := sortedKeys(m)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+m[k])
	}
	return strings.Join(out, ", ")
}

// executionLines is the block the watch draws for one execution: a header line, why it waits,
// and each stage with its actions, the disabled transitions of pl (nil: unknown) before the
// stages they lead into. Widths are the widest name's, so the columns line up.
func executionLines(pl *api.Pipeline, e *api.PipelineExecution) []string {
	head := fmt.Sprintf("Execution %s  %s  %s  (version %d)", e.ID, statusOrDash(e.Status), triggerText(e.Trigger), e.Version)
	if e.RollbackOf != "" {
		head += "  rollback of " + e.RollbackOf
	}
	lines := []string{head}
	if e.StatusSummary != "" {
		lines = append(lines, "  "+cell(e.StatusSummary))
	}
	if e.WaitingFor != "" {
		lines = append(lines, fmt.Sprintf("  waiting to enter %s: %s", e.WaitingFor, cell(e.WaitReason)))
	}
	nameW, provW, statW := 0, 0, 0
	for _, st := range e.Stages {
		for _, a := range st.Actions {
			nameW, provW, statW = max(nameW, len(a.Name)), max(provW, len(a.Provider)), max(statW, len(statusOrDash(a.Status)))
		}
	}
	for i, st := range e.Stages {
		if pl != nil && i > 0 {
			if tr, ok := pl.Transitions[st.Name]; ok {
				lines = append(lines, fmt.Sprintf("  ==> transition into %s disabled: %s", st.Name, cell(tr.Reason)))
			}
		}
		stage := fmt.Sprintf("  %s  %s", st.Name, statusOrDash(st.Status))
		if st.Attempt > 1 {
			stage += fmt.Sprintf("  (attempt %d)", st.Attempt)
		}
		lines = append(lines, stage)
		for _, a := range st.Actions {
			line := fmt.Sprintf("    %-*s  %-*s  %-*s", nameW, a.Name, provW, a.Provider, statW, statusOrDash(a.Status))
			for _, extra := range []string{actionDuration(a.StartTime, a.EndTime), a.ExternalID, cell(actionDetail(a))} {
				if extra != "" && extra != "-" {
					line += "  " + extra
				}
			}
			lines = append(lines, strings.TrimRight(line, " "))
		}
	}
	return lines
}

// printExecution is `pipeline execution`'s table view: the execution's fields, a row per
// action, then the actions' output variables and approvals.
func printExecution(p *printer, e *api.PipelineExecution) error {
	fields := []field{{"ID", e.ID}, {"Pipeline", e.Pipeline}, {"Version", strconv.Itoa(e.Version)}, {"Mode", cell(e.ExecutionMode)},
		{"Status", statusOrDash(e.Status)}}
	if e.StatusSummary != "" {
		fields = append(fields, field{"Summary", e.StatusSummary})
	}
	fields = append(fields, field{"Trigger", triggerText(e.Trigger)})
	if e.RollbackOf != "" {
		fields = append(fields, field{"Rollback of", e.RollbackOf})
	}
	if e.WaitingFor != "" {
		fields = append(fields, field{"Waiting for", e.WaitingFor + ": " + e.WaitReason})
	}
	if len(e.Variables) > 0 {
		fields = append(fields, field{"Variables", sortedPairs(e.Variables)})
	}
	for _, r := range e.SourceRevisions {
		where := r.Repository
		if r.Branch != "" {
			where += " " + r.Branch
		}
		fields = append(fields, field{"Revision of " + r.Action, where + " " + r.Commit})
	}
	fields = append(fields, field{"Started", formatTime(e.StartTime)})
	if e.EndTime != nil {
		fields = append(fields, field{"Ended", formatTime(*e.EndTime)})
	}
	if err := p.Fields(fields); err != nil {
		return err
	}
	if err := p.Linef(""); err != nil {
		return err
	}
	var rows [][]string
	for _, st := range e.Stages {
		for _, a := range st.Actions {
			rows = append(rows, []string{st.Name, statusOrDash(st.Status), a.Name, a.Provider, statusOrDash(a.Status),
				attemptText(a.Attempt), cell(a.ExternalID), cell(actionDetail(a))})
		}
	}
	if err := p.Table([]string{"STAGE", "STAGE STATUS", "ACTION", "PROVIDER", "STATUS", "ATTEMPT", "EXTERNAL ID", "DETAIL"}, rows); err != nil {
		return err
	}
	for _, st := range e.Stages {
		for _, a := range st.Actions {
			if len(a.Variables) > 0 {
				if err := p.Linef("Output variables of %s/%s: %s", st.Name, a.Name, cell(sortedPairs(a.Variables))); err != nil {
					return err
				}
			}
			if ap := a.Approval; ap != nil && a.Status == api.PipelineInProgress {
				msg := fmt.Sprintf("Approval %s/%s waits until %s: slipway approval approve %s --execution %s --stage %s --action %s",
					st.Name, a.Name, formatTime(ap.Expires), e.Pipeline, e.ID, st.Name, a.Name)
				if ap.CustomData != "" {
					msg += " (" + cell(ap.CustomData) + ")"
				}
				if err := p.Linef("%s", msg); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// stagesSummary is a history row's stages: "Source:Succeeded Build:Failed Deploy:-".
func stagesSummary(e api.PipelineExecution) string {
	parts := make([]string, 0, len(e.Stages))
	for _, st := range e.Stages {
		parts = append(parts, st.Name+":"+statusOrDash(st.Status))
	}
	return strings.Join(parts, " ")
}

// attemptText is an attempt number, "-" for an action that never ran.
func attemptText(n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n)
}
