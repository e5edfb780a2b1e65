package build

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/session"
	"github.com/slipwayhq/slipway/server/core/state"
)

// agentWork is the "build" kind of agent work (session.Work): a host runs the build assigned to
// it (build/by-host), started by an agentproto.BuildRun, and reports on it with
// agentproto.Event and agentproto.Log messages, which become build.report commands.
type agentWork struct{ core *module.Core }

var _ session.Work = agentWork{}

// Kind implements session.Work.
func (agentWork) Kind() string { return agentproto.KindBuild }

// Pending implements session.Work: the builds in progress on the host whose stop was not
// requested (a stop leaves them out, so that the hub cancels them on the agent).
func (agentWork) Pending(tx *state.Tx, hostID string) []string {
	var out []string
	for _, id := range buildsOnHost(tx, hostID) {
		if b, ok, err := getBuild(tx, id); err == nil && ok && b.runsOn(hostID) {
			out = append(out, id)
		}
	}
	return out
}

// runsOn reports whether the build is to run on the host now: in progress there, no stop
// requested.
func (b Build) runsOn(hostID string) bool {
	return b.Status == pub.BuildInProgress && b.Agent == hostID && !b.StopRequested
}

// Active implements session.Work: false once the build ended, moved or its stop was requested,
// so an agent still running it is told to cancel. A build still queued in this server's state
// is active: this server has not applied its assignment yet (an agent runs only builds a server
// sent it), and it must not cancel what it is behind on.
func (agentWork) Active(tx *state.Tx, hostID, id string) bool {
	b, ok, err := getBuild(tx, id)
	return err == nil && ok && (b.runsOn(hostID) || b.Status == pub.BuildQueued)
}

// AgentPath is the URL path of a build's agent route: /v1/agent/builds/ID/what.
func AgentPath(id, what string) string { return "/v1/agent/builds/" + url.PathEscape(id) + "/" + what }

// Start implements session.Work: the run of a build, from its record (and its project's
// artifact name and cache). Secret variables stay names: the agent asks for their values.
func (agentWork) Start(tx *state.Tx, id string) (string, any, error) {
	b, err := mustBuild(tx, id)
	if err != nil {
		return "", nil, err
	}
	return agentproto.TypeRun, runOf(tx, b), nil
}

func runOf(tx *state.Tx, b Build) agentproto.BuildRun {
	run := agentproto.BuildRun{
		Kind: agentproto.KindBuild, DeploymentID: b.ID, Project: b.Project, Number: b.Number, Initiator: b.Initiator,
		SourceVersion: b.SourceVersion, ResolvedSourceVersion: b.ResolvedSourceVersion,
		Source: agentproto.BuildSource{Type: b.Source.Type, Repository: b.Source.Repository, Buildspec: b.Source.Buildspec,
			BuildspecInline: b.Source.BuildspecInline},
		Image: b.Environment.Image, Privileged: b.Environment.Privileged,
		SecretsPath:       AgentPath(b.ID, "secrets"),
		GitCredentialPath: AgentPath(b.ID, "git-credential"),
		TimeoutMinutes:    b.TimeoutMinutes, StartTime: b.Start.UnixMilli(), BatchIdentifier: b.BatchIdentifier,
	}
	if b.Source.Type != pub.SourceNone || b.SourceArtifact != nil {
		run.Source.Path = AgentPath(b.ID, "source")
	}
	if a := b.SourceArtifact; a != nil {
		run.Source.Repository = a.Repository // what the agent's log names
	}
	for _, v := range b.Environment.Variables {
		run.Variables = append(run.Variables, agentproto.BuildVariable(v))
	}
	if pr, ok, err := getProject(tx, b.Project); err == nil && ok {
		if pr.Artifacts.Type != pub.ArtifactsNone { // NO_ARTIFACTS: no path, the agent uploads none
			run.ArtifactsPath, run.ArtifactName = AgentPath(b.ID, "artifacts"), pr.Artifacts.Name
		}
		run.Cache = pr.Cache.Type
	}
	return run
}

// Reports implements session.Work.
func (agentWork) Reports() []string { return []string{agentproto.TypeEvent, agentproto.TypeLog} }

// checkedEvent and checkedLog are what Check returns for Commit.
type checkedEvent struct {
	id string
	ev ReportEvent
}

type checkedLog struct {
	id string
	l  ReportLog
}

// Check implements session.Work: a malformed message is dropped silently; one the protocol does
// not allow (an ID that is not a build ID, an event that is not a phase or BuildEnd, a status
// the protocol has not) is refused with a warning; text, lines and an outcome out of bounds are
// cut (boundEvent, boundLog), with a warning.
func (agentWork) Check(typ string, body json.RawMessage, warn func(msg string, attrs ...any)) (any, bool) {
	switch typ {
	case agentproto.TypeEvent:
		var in agentproto.Event
		if json.Unmarshal(body, &in) != nil {
			return nil, false
		}
		ev := ReportEvent{Seq: in.Seq, Event: in.Event, Status: string(in.Status), Result: in.Result, Message: in.Message, Time: in.Time, Outcome: in.Build}
		if _, _, err := SplitID(in.DeploymentID); err != nil {
			warn("agent sent a build event the protocol does not allow; refused (not acknowledged)", "seq", in.Seq, "error", err)
			return nil, false
		}
		if err := checkEvent(ev); err != nil {
			warn("agent sent a build event the protocol does not allow; refused (not acknowledged)", "build", in.DeploymentID, "seq", in.Seq, "error", err)
			return nil, false
		}
		if changed := boundEvent(&ev); len(changed) > 0 {
			warn("agent sent a build event out of bounds; it was cut", "build", in.DeploymentID, "seq", in.Seq, "event", ev.Event, "fields", slices.Compact(changed))
		}
		return checkedEvent{in.DeploymentID, ev}, true
	case agentproto.TypeLog:
		var in agentproto.Log
		if json.Unmarshal(body, &in) != nil {
			return nil, false
		}
		if _, _, err := SplitID(in.DeploymentID); err != nil {
			warn("agent sent a build log the protocol does not allow; refused (not acknowledged)", "seq", in.Seq, "error", err)
			return nil, false
		}
		l := ReportLog{Seq: in.Seq, Lines: make([]logLine, 0, min(len(in.Lines), MaxLogLinesPerReport))}
		for i, ln := range in.Lines {
			if i == MaxLogLinesPerReport {
				break
			}
			l.Lines = append(l.Lines, logLine{Time: ln.Time, Phase: ln.Event, Text: ln.Text})
		}
		changed := boundLog(&l)
		if len(in.Lines) > MaxLogLinesPerReport {
			changed = append(changed, "lines")
		}
		if len(changed) > 0 {
			warn("agent sent a build log out of bounds; it was cut", "build", in.DeploymentID, "seq", in.Seq, "fields", slices.Compact(changed))
		}
		return checkedLog{in.DeploymentID, l}, true
	}
	return nil, false
}

type reportKeyOf struct{ id, host string }

// maxReportBytes bounds the reports one build.report carries, well under
// command.MaxEncodedSize; a larger batch is split (splitReport).
const maxReportBytes = command.MaxEncodedSize / 2

// Commit implements session.Work: the reports are grouped into one command per build and host
// (several, applied in order, when too large for one), the groups proposed at once, and each
// part acknowledged once it commits. Artifacts whose blob is not recorded are dropped first,
// with a warning. A report from a host the build is not assigned to is refused by apply: it is
// not acknowledged, and logged.
func (w agentWork) Commit(ctx context.Context, reports []session.Report) {
	groups := map[reportKeyOf]*ReportPayload{}
	replies := map[reportKeyOf]session.Report{}
	var order []reportKeyOf
	for _, r := range reports {
		var id string
		ev, isEvent := r.Body.(checkedEvent)
		l, isLog := r.Body.(checkedLog)
		switch {
		case isEvent:
			id = ev.id
		case isLog:
			id = l.id
		default:
			continue
		}
		k := reportKeyOf{id, r.HostID}
		g, ok := groups[k]
		if !ok {
			g = &ReportPayload{ID: id, Host: r.HostID}
			groups[k] = g
			order = append(order, k)
		}
		replies[k] = r // the latest session of the host answers
		if isEvent {
			g.Events = append(g.Events, ev.ev)
		} else {
			g.Logs = append(g.Logs, l.l)
		}
	}
	log := w.log()
	w.dropMissingArtifacts(groups, log)
	var wg sync.WaitGroup
	for _, k := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, part := range splitReport(groups[k]) {
				actx, cancel := context.WithTimeout(ctx, 30*time.Second)
				res, err := command.Propose(actx, w.core.Cluster, cmdReport, w.core.Now(), *part)
				cancel()
				if fault.CodeOf(err) == fault.Forbidden {
					log.Warn("agent reported on a build not assigned to its host; refused (not acknowledged)", "build", k.id, "host", k.host, "error", err)
					return
				}
				if err != nil {
					log.Warn("build report not committed; the agent will send it again", "build", k.id, "host", k.host, "error", err)
					return
				}
				var ack agentproto.Ack
				if json.Unmarshal(res.Data, &ack) == nil {
					replies[k].Reply(agentproto.TypeAck, ack)
				}
			}
		}()
	}
	wg.Wait()
}

// dropMissingArtifacts removes from each build end the artifacts whose blob the state does not
// record (never uploaded, or the upload failed): the build keeps the others.
func (w agentWork) dropMissingArtifacts(groups map[reportKeyOf]*ReportPayload, log *slog.Logger) {
	_ = w.core.State.View(func(tx *state.Tx) error {
		for _, g := range groups {
			for i := range g.Events {
				o := g.Events[i].Outcome
				if o == nil || len(o.Artifacts) == 0 {
					continue
				}
				kept := o.Artifacts[:0:0]
				for _, a := range o.Artifacts {
					if _, err := tx.Blobs().Get(a.SHA256); err != nil {
						log.Warn("agent reported an artifact that was not uploaded; dropped", "build", g.ID, "artifact", a.Identifier, "sha256", a.SHA256)
						continue
					}
					kept = append(kept, a)
				}
				o.Artifacts = kept
			}
		}
		return nil
	})
}

// splitReport cuts a host's reports on one build into parts of at most maxReportBytes of
// encoded reports each (a single larger report goes alone), in sequence order, so that applying
// the parts one after another applies what one command would.
func splitReport(g *ReportPayload) []*ReportPayload {
	type item struct {
		seq     uint64
		ev, log int
		size    int
		isEvent bool
	}
	var items []item
	for i := range g.Events {
		b, _ := json.Marshal(&g.Events[i])
		items = append(items, item{seq: g.Events[i].Seq, ev: i, size: len(b), isEvent: true})
	}
	for i := range g.Logs {
		b, _ := json.Marshal(&g.Logs[i])
		items = append(items, item{seq: g.Logs[i].Seq, log: i, size: len(b)})
	}
	slices.SortStableFunc(items, func(a, b item) int { return cmp.Compare(a.seq, b.seq) })
	var parts []*ReportPayload
	var cur *ReportPayload
	size := 0
	for _, it := range items {
		if cur == nil || (size > 0 && size+it.size > maxReportBytes) {
			cur = &ReportPayload{ID: g.ID, Host: g.Host}
			parts = append(parts, cur)
			size = 0
		}
		if it.isEvent {
			cur.Events = append(cur.Events, g.Events[it.ev])
		} else {
			cur.Logs = append(cur.Logs, g.Logs[it.log])
		}
		size += it.size
	}
	return parts
}

// log is where the agent work writes: the agents' component.
func (w agentWork) log() *slog.Logger {
	if w.core.Log == nil {
		return slog.Default()
	}
	return w.core.Log.With("component", "agents")
}
