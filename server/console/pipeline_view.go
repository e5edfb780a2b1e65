package console

import (
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// pipelineView is a pipeline's page as CodePipeline's console draws it: the stages of the
// current version top to bottom, each showing its latest run (the newest execution that
// reached it, as GetPipelineState answers), its actions grouped by runOrder, the executions
// waiting to enter it, and the inbound transition above it.
type pipelineView struct {
	P          pub.Pipeline
	Latest     *pub.PipelineExecution // the newest execution (nil: never ran)
	LatestHref string
	Running    []runningRow // executions in progress or stopping, newest first
	Stages     []stageBox
	Variables  []pipelinespec.Variable // the declared variables, for the start form's overrides
	Can        pipelineCan
	Error      string // a refusal of one of the page's forms
	Note       string // what the page could not read (the service's message)
}

// pipelineCan says which of the page's forms the user's policies allow (a hidden form is a
// courtesy: the edge decides every request). The approval form is shown to everyone who sees
// the page; CanApprove only says whether the answer will be taken.
type pipelineCan struct {
	Start, Stop, Retry, Rollback, Approve, Enable, Disable, Update bool
}

// runningRow is an execution in progress with its stop form.
type runningRow struct {
	ID, Href, Status, WaitingFor, WaitReason string
	Stopping                                 bool
}

// transitionView is a stage's inbound transition: the arrow above it, and why it is disabled.
type transitionView struct {
	Stage    string
	Disabled bool
	Reason   string
	By       string
	Time     time.Time
}

// stageBox is one stage on the pipeline's page.
type stageBox struct {
	Name       string
	Transition *transitionView // nil for the first stage (its transition cannot be disabled)
	Execution  string          // the execution whose run the box shows ("" never run)
	ExecHref   string
	Status     string
	Attempt    int
	Groups     []actionGroup
	Waiting    []runningRow // executions waiting to enter the stage, in order
	CanRetry   bool         // the shown run failed in a failed execution: it may be retried
	CanRoll    bool         // a later stage that ran and is not running: it may be rolled back
	OnFailure  string
}

// actionGroup is the actions of one runOrder: they run together, side by side.
type actionGroup struct {
	RunOrder int
	Actions  []actionBox
}

// actionBox is one action with its state in the stage's shown run.
type actionBox struct {
	Name, Category, Provider string
	Status, Summary, Error   string
	ExternalID               string
	Link, LinkText           string // the work's page: a build, a deployment, a commit
	Approval                 *pub.ApprovalState
	Waiting                  bool   // a manual approval waiting for its answer
	Execution, Stage         string // for the approval form
	Attempt                  int
}

// stageRun finds stage name in e (nil when e's version has no such stage or e never reached it).
func stageRun(e *pub.PipelineExecution, name string) *pub.StageExecution {
	for i := range e.Stages {
		if e.Stages[i].Name == name && e.Stages[i].Status != "" {
			return &e.Stages[i]
		}
	}
	return nil
}

// inProgress reports whether an execution has not ended.
func inProgress(status string) bool {
	return status == pub.PipelineInProgress || status == pub.PipelineStopping
}

// pipelineViewOf draws pipeline p, whose current definition is spec, from its newest
// executions (newest first).
func pipelineViewOf(p pub.Pipeline, spec *pipelinespec.Pipeline, execs []pub.PipelineExecution) pipelineView {
	v := pipelineView{P: p}
	if len(execs) > 0 {
		v.Latest = &execs[0]
		v.LatestHref = executionURL(p.Name, execs[0].ID)
	}
	for _, e := range execs {
		if inProgress(e.Status) {
			v.Running = append(v.Running, runningOf(p.Name, e))
		}
	}
	if spec == nil {
		return v
	}
	v.Variables = spec.Variables
	for i, st := range spec.Stages {
		box := stageBox{Name: st.Name}
		if st.OnFailure != nil {
			box.OnFailure = st.OnFailure.Result
		}
		if i > 0 {
			t := &transitionView{Stage: st.Name}
			if ts, ok := p.Transitions[st.Name]; ok {
				t.Disabled, t.Reason, t.By, t.Time = true, ts.Reason, ts.By, ts.Time
			}
			box.Transition = t
		}
		var run *pub.StageExecution
		var runOf *pub.PipelineExecution
		for j := range execs {
			if s := stageRun(&execs[j], st.Name); s != nil {
				run, runOf = s, &execs[j]
				break
			}
		}
		// Waiting executions, oldest first (the order they enter in).
		for j := len(execs) - 1; j >= 0; j-- {
			if execs[j].WaitingFor == st.Name && inProgress(execs[j].Status) {
				box.Waiting = append(box.Waiting, runningOf(p.Name, execs[j]))
			}
		}
		if run != nil {
			box.Execution, box.ExecHref, box.Status, box.Attempt = runOf.ID, executionURL(p.Name, runOf.ID), run.Status, run.Attempt
			box.CanRetry = run.Status == pub.PipelineFailed && runOf.Status == pub.PipelineFailed
			box.CanRoll = i > 0 && !inProgress(run.Status) // the first stage has no earlier artifacts
		}
		box.Groups = actionGroups(st.Actions, run, runOf)
		v.Stages = append(v.Stages, box)
	}
	return v
}

func runningOf(name string, e pub.PipelineExecution) runningRow {
	return runningRow{ID: e.ID, Href: executionURL(name, e.ID), Status: e.Status, WaitingFor: e.WaitingFor, WaitReason: e.WaitReason,
		Stopping: e.Status == pub.PipelineStopping}
}

// actionGroups groups a stage's actions by runOrder (lowest first, the definition's order
// within one), each with its state in run (nil: the stage has not run).
func actionGroups(actions []pipelinespec.Action, run *pub.StageExecution, runOf *pub.PipelineExecution) []actionGroup {
	byOrder := map[int][]actionBox{}
	for _, a := range actions {
		order := a.RunOrder
		if order == 0 {
			order = 1
		}
		box := actionBox{Name: a.Name, Category: a.ActionTypeID.Category, Provider: a.ActionTypeID.Provider}
		if run != nil {
			for _, ae := range run.Actions {
				if ae.Name == a.Name {
					fillAction(&box, ae, runOf, run.Name)
				}
			}
		}
		byOrder[order] = append(byOrder[order], box)
	}
	var out []actionGroup
	for _, order := range slices.Sorted(maps.Keys(byOrder)) {
		out = append(out, actionGroup{RunOrder: order, Actions: byOrder[order]})
	}
	return out
}

// fillAction sets an action box's state from its run.
func fillAction(box *actionBox, ae pub.ActionExecution, e *pub.PipelineExecution, stage string) {
	box.Status, box.Summary, box.Error, box.ExternalID = ae.Status, ae.Summary, ae.Error, ae.ExternalID
	box.Approval, box.Attempt, box.Execution, box.Stage = ae.Approval, ae.Attempt, e.ID, stage
	box.Waiting = ae.Provider == pipelinespec.ProviderManual && ae.Status == pub.PipelineInProgress && ae.Approval != nil && ae.Approval.Result == ""
	box.Link, box.LinkText = workLink(ae, e)
}

// workLink is the console's page of the work an action started: a build's page, a
// deployment's page, or for a source, the commit it read.
func workLink(ae pub.ActionExecution, e *pub.PipelineExecution) (string, string) {
	switch ae.Provider {
	case pipelinespec.ProviderBuild, pipelinespec.ProviderCommand:
		if strings.Contains(ae.ExternalID, ":") {
			return buildURL(ae.ExternalID), "build " + ae.ExternalID
		}
	case pipelinespec.ProviderDeploy:
		if ae.ExternalID != "" {
			return "/ui/deployments/" + url.PathEscape(ae.ExternalID), "deployment " + ae.ExternalID
		}
	case pipelinespec.ProviderRepo:
		for _, a := range ae.Outputs {
			if a.Repository != "" && a.Commit != "" {
				return repoURL(a.Repository, "commit", a.Commit, ""), a.Repository + " @ " + short(a.Commit)
			}
		}
		if e != nil {
			for _, s := range e.SourceRevisions {
				if s.Action == ae.Name && s.Repository != "" && s.Commit != "" {
					return repoURL(s.Repository, "commit", s.Commit, ""), s.Repository + " @ " + short(s.Commit)
				}
			}
		}
	}
	return "", ""
}

// short is a commit ID's first 12 characters.
func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// executionRow is an execution in the history: its stages as status dots.
type executionRow struct {
	pub.PipelineExecution
	Href, Trigger, Duration string
	Dots                    []stageDot
}

// stageDot is one stage's status in a history row.
type stageDot struct{ Name, Status string }

// executionRowOf makes a history row, its duration as of now for one still running.
func executionRowOf(name string, e pub.PipelineExecution, now time.Time) executionRow {
	end := now
	if e.EndTime != nil {
		end = *e.EndTime
	}
	row := executionRow{PipelineExecution: e, Href: executionURL(name, e.ID), Trigger: triggerText(e.Trigger), Duration: roundDuration(end.Sub(e.StartTime))}
	for _, s := range e.Stages {
		st := s.Status
		if st == "" {
			st = "NotRun"
		}
		row.Dots = append(row.Dots, stageDot{Name: s.Name, Status: st})
	}
	return row
}

// triggerText says what started an execution, in a few words.
func triggerText(t pub.PipelineTrigger) string {
	parts := []string{t.Type}
	if t.Actor != "" {
		parts = append(parts, "by "+t.Actor)
	}
	if t.Repository != "" {
		ref := strings.TrimPrefix(strings.TrimPrefix(t.Ref, "refs/heads/"), "refs/tags/")
		where := t.Repository
		if ref != "" {
			where += " " + ref
		}
		parts = append(parts, where)
	}
	if t.Commit != "" {
		parts = append(parts, "@ "+short(t.Commit))
	}
	if t.Detail != "" {
		parts = append(parts, "("+t.Detail+")")
	}
	return strings.Join(parts, " ")
}
