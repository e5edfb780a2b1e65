package pipeline

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/core/webhook"
	"github.com/slipwayhq/slipway/server/git/hooks"
)

// The trigger (the leader task "trigger") starts executions from the repositories' event
// stream (git/hooks' Since): after each applied entry (at least every drivePause) it reads the
// events after the service's cursor, one at a time in order, and for each proposes
// pipeline.trigger{Seq, Starts}: the starts of the pipelines whose EffectiveTriggers match it,
// one per pipeline. Apply moves the cursor to Seq and ignores a Seq at or before it, so a new
// leader that proposes the same event again starts nothing twice. An event that cannot be
// handled now (a proposal refused, the cluster busy) is tried again with backoff; a pipeline
// whose start cannot be prepared (another source branch gone) is left out of that event's
// starts, with a warning.
const (
	triggerBatch  = 64
	maxChanged    = 1000
	zeroCommit    = "0000000000000000000000000000000000000000"
	prDestination = "refs/heads/"
)

func (m *Module) trigger(ctx context.Context) {
	log := m.core.Log
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "pipeline-trigger")
	failures := 0
	for ctx.Err() == nil {
		idx := m.core.Cluster.AppliedIndex()
		var events []hooks.Body
		var after uint64
		_ = m.core.State.View(func(tx *state.Tx) error {
			after = cursor(tx)
			events = hooks.Since(tx, after, triggerBatch)
			return nil
		})
		pause := drivePause
		var skipped uint64 // the last event of the batch that started nothing, not yet recorded
		for _, ev := range events {
			seq, err := strconv.ParseUint(ev.ID, 10, 64)
			if err != nil || seq <= after {
				continue
			}
			starts := m.match(ctx, log, ev, seq)
			if len(starts) == 0 {
				skipped = seq
				continue
			}
			if !m.record(ctx, log, TriggerPayload{Seq: seq, Starts: starts}, &failures, &pause) {
				skipped = 0
				break
			}
			skipped = 0
			for _, s := range starts {
				log.Info("pipeline started by a repository event", "pipeline", s.Pipeline, "execution", s.ExecutionID, "event", ev.ID, "type", ev.Type)
			}
		}
		if skipped > 0 { // events that started nothing move the cursor in one command
			m.record(ctx, log, TriggerPayload{Seq: skipped}, &failures, &pause)
		}
		if failures == 0 && len(events) == triggerBatch {
			continue // more to read at once
		}
		wctx, cancel := context.WithTimeout(ctx, pause)
		if failures == 0 {
			_ = m.core.Cluster.WaitApplied(wctx, idx+1)
		} else {
			<-wctx.Done()
		}
		cancel()
	}
}

// record proposes p; on a refusal it counts the failure and sets the pause before the next
// try (backoff), and answers false.
func (m *Module) record(ctx context.Context, log *slog.Logger, p TriggerPayload, failures *int, pause *time.Duration) bool {
	if _, err := command.Propose(ctx, m.core.Cluster, cmdTrigger, m.core.Now(), p); err != nil {
		if ctx.Err() == nil {
			*failures++
			*pause = webhook.Backoff(retryBase, retryMax, *failures)
			log.Warn("could not record repository events' pipeline starts; trying again", "seq", p.Seq, "retry_in", *pause, "error", err)
		}
		return false
	}
	*failures = 0
	return true
}

// gitEvent is a repository event as the triggers see it: the ref moved (push) or the pull
// request's destination, its commits, and the pull request event's name.
type gitEvent struct {
	kind        string // pub.TriggerPush or pub.TriggerPullRequest
	repo        string
	ref         string // push: the full ref; pull request: refs/heads/SOURCE
	old, new    string // the commits the changed paths are between
	prEvent     string // OPEN, UPDATED, CLOSED
	destination string // a pull request's destination branch
}

// prBody is the part of a pull_request event's payload the triggers read.
type prBody struct {
	Action      string `json:"action"`
	PullRequest struct {
		Source      string `json:"source"`
		Destination string `json:"destination"`
		Revision    struct {
			SourceCommit      string `json:"source_commit"`
			DestinationCommit string `json:"destination_commit"`
			MergeBase         string `json:"merge_base"`
		} `json:"revision"`
	} `json:"pull_request"`
}

// gitEvents answers the events a stream entry holds for the triggers: one per ref a push
// updated (deletions left out), one for a pull request's opened, reopened, revised, closed or
// merged event; none for anything else.
func gitEvents(ev hooks.Body) []gitEvent {
	switch ev.Type {
	case hooks.TypePush:
		var p hooks.PushPayload
		if json.Unmarshal(ev.Payload, &p) != nil {
			return nil
		}
		var out []gitEvent
		for _, u := range p.Refs {
			if u.New == zeroCommit || u.New == "" {
				continue
			}
			out = append(out, gitEvent{kind: pub.TriggerPush, repo: ev.Repository.Name, ref: u.Ref, old: u.Old, new: u.New})
		}
		return out
	case hooks.TypePullRequest:
		var p prBody
		if json.Unmarshal(ev.Payload, &p) != nil {
			return nil
		}
		name := map[string]string{"opened": "OPEN", "reopened": "OPEN", "revised": "UPDATED", "closed": "CLOSED", "merged": "CLOSED"}[p.Action]
		if name == "" {
			return nil
		}
		rev := p.PullRequest.Revision
		base := rev.MergeBase
		if base == "" {
			base = rev.DestinationCommit
		}
		return []gitEvent{{kind: pub.TriggerPullRequest, repo: ev.Repository.Name, ref: prDestination + p.PullRequest.Source,
			old: base, new: rev.SourceCommit, prEvent: name, destination: p.PullRequest.Destination}}
	}
	return nil
}

// match answers the starts stream event ev (sequence seq) makes: for each pipeline created
// before it, the first of its git events that one of its triggers matches.
func (m *Module) match(ctx context.Context, log *slog.Logger, ev hooks.Body, seq uint64) []Start {
	gevs := gitEvents(ev)
	if len(gevs) == 0 {
		return nil
	}
	var records []Record
	_ = m.core.State.View(func(tx *state.Tx) error {
		after := ""
		for {
			list, next, err := listRecords(tx, after, 1000)
			if err != nil {
				return err
			}
			records = append(records, list...)
			if next == "" {
				return nil
			}
			after = next
		}
	})
	paths := map[int][]string{} // per git event, computed once when a filter needs them
	var starts []Start
	for _, r := range records {
		if r.EventSeq >= seq {
			continue
		}
	events:
		for i, g := range gevs {
			for _, t := range r.Spec.EffectiveTriggers() {
				src := r.Spec.SourceAction(t.GitConfiguration.SourceActionName)
				if src == nil || src.ActionTypeID.Provider != pipelinespec.ProviderRepo || src.Configuration["RepositoryName"] != g.repo {
					continue
				}
				var changed []string
				if t.NeedsPaths() {
					c, ok := paths[i]
					if !ok {
						c = m.changed(ctx, log, g)
						paths[i] = c
					}
					changed = c
				}
				if !m.matches(t, g, changed) {
					continue
				}
				s, err := m.startFor(ctx, r, src, g, ev.ID)
				if err != nil {
					log.Warn("a repository event matched a pipeline that cannot start now", "pipeline", r.Name, "event", ev.ID, "error", err)
					break events
				}
				starts = append(starts, s)
				break events
			}
		}
	}
	return starts
}

// matches reports whether trigger t takes git event g with the changed paths (nil when they
// could not all be listed: any path filter then matches).
func (m *Module) matches(t pipelinespec.Trigger, g gitEvent, changed []string) bool {
	if changed == nil && t.NeedsPaths() {
		t = withoutPaths(t)
	}
	if g.kind == pub.TriggerPush {
		return t.MatchPush(g.ref, changed)
	}
	return t.MatchPullRequest(g.prEvent, g.destination, changed)
}

// withoutPaths is t with its file path filters taken away.
func withoutPaths(t pipelinespec.Trigger) pipelinespec.Trigger {
	gc := t.GitConfiguration
	push := make([]pipelinespec.PushFilter, len(gc.Push))
	for i, f := range gc.Push {
		f.FilePaths = nil
		push[i] = f
	}
	prs := make([]pipelinespec.PullRequestFilter, len(gc.PullRequest))
	for i, f := range gc.PullRequest {
		f.FilePaths = nil
		prs[i] = f
	}
	gc.Push, gc.PullRequest = push, prs
	t.GitConfiguration = gc
	return t
}

// changed answers the paths g changed, nil when they cannot all be listed (more than
// maxChanged, or the repository cannot be read now).
func (m *Module) changed(ctx context.Context, log *slog.Logger, g gitEvent) []string {
	changes := m.changes()
	if changes == nil {
		return nil
	}
	old := g.old
	if old == "" {
		old = zeroCommit
	}
	paths, truncated, err := changes.ChangedPaths(ctx, g.repo, old, g.new, maxChanged)
	if err != nil {
		log.Warn("cannot list a push's changed paths; its path filters match", "repository", g.repo, "commit", g.new, "error", err)
		return nil
	}
	if truncated {
		return nil
	}
	if paths == nil {
		paths = []string{}
	}
	return paths
}

// startFor makes r's start for git event g, which its source action src matched: src takes
// g's commit, the other source actions their branch's head.
func (m *Module) startFor(ctx context.Context, r Record, src *pipelinespec.Action, g gitEvent, eventID string) (Start, error) {
	branch := strings.TrimPrefix(strings.TrimPrefix(g.ref, "refs/heads/"), "refs/tags/")
	fixed := map[string]pub.SourceRevision{src.Name: {Action: src.Name, Repository: g.repo, Branch: branch, Commit: g.new}}
	t := pub.PipelineTrigger{Type: g.kind, Repository: g.repo, Ref: g.ref, Commit: g.new, EventID: eventID}
	if g.kind == pub.TriggerPullRequest {
		t.Detail = g.prEvent + " into " + g.destination
	}
	return m.prepareStart(ctx, r, t, nil, nil, fixed)
}
