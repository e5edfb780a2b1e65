package build

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/blob"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// The phases an agent reports, in their order (CodeBuild's, after PROVISIONING).
const (
	PhaseDownloadSource  = "DOWNLOAD_SOURCE"
	PhaseInstall         = "INSTALL"
	PhasePreBuild        = "PRE_BUILD"
	PhaseBuild           = "BUILD"
	PhasePostBuild       = "POST_BUILD"
	PhaseUploadArtifacts = "UPLOAD_ARTIFACTS"
	PhaseFinalizing      = "FINALIZING"
)

// AgentPhases are the phases an agent may report the start and end of.
var AgentPhases = []string{PhaseDownloadSource, PhaseInstall, PhasePreBuild, PhaseBuild, PhasePostBuild, PhaseUploadArtifacts, PhaseFinalizing}

// Bounds of what an agent reports on a build: Check cuts a report to them as it arrives (with
// a warning) and apply cuts again, whatever a server checked.
const (
	MaxExportedVariables = 100
	MaxArtifacts         = 50
	MaxReports           = 20
	MaxReportCases       = 500
	MaxReportFiles       = 100
	MaxLogLinesPerReport = 5000                // lines of one log message
	maxEventText         = 4 << 10             // a phase's or the end's message
	maxName              = 255                 // artifact names and identifiers, report names
	maxCaseText          = 4 << 10             // a test case's message and output each
	maxCaseName          = 1 << 10             // a test case's name, prefix, suite and file each
	maxResult            = len("CLIENT_ERROR") // the longest phase status
)

var (
	phaseStatuses = []string{pub.BuildSucceeded, pub.BuildFailed, pub.BuildFault, pub.BuildTimedOut, pub.BuildStopped, "CLIENT_ERROR"}
	endStatuses   = []string{pub.BuildSucceeded, pub.BuildFailed, pub.BuildFault, pub.BuildTimedOut, pub.BuildStopped}
	caseStatuses  = []string{"SUCCEEDED", "FAILED", "ERROR", "SKIPPED", "UNKNOWN"}
)

// clip makes s valid UTF-8 without control characters other than tab, at most n bytes (cut at
// a rune boundary), and reports whether it changed it.
func clip(s string, n int) (string, bool) {
	clean := strings.Map(func(r rune) rune {
		if r == '\t' || (r >= 0x20 && r != 0x7f) {
			return r
		}
		return -1
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if len(clean) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(clean[cut]) {
			cut--
		}
		clean = clean[:cut]
	}
	return clean, clean != s
}

// clipTo clips *s to n bytes and adds field to changed when it changed it.
func clipTo(s *string, n int, field string, changed *[]string) {
	if v, ch := clip(*s, n); ch {
		*s = v
		*changed = append(*changed, field)
	}
}

// boundEvent cuts an event to the bounds in place and returns the fields it changed. An event
// or status the protocol does not have is for checkEvent to refuse; here it is left as it is.
func boundEvent(ev *ReportEvent) (changed []string) {
	clipTo(&ev.Message, maxEventText, "message", &changed)
	if ev.Result != "" && !slices.Contains(phaseStatuses, ev.Result) {
		ev.Result = ""
		changed = append(changed, "result")
	}
	if ev.Event != agentproto.BuildEnd {
		if ev.Outcome != nil {
			ev.Outcome = nil
			changed = append(changed, "outcome")
		}
		return changed
	}
	if ev.Outcome == nil {
		ev.Outcome = &agentproto.BuildOutcome{Status: ev.Result}
	}
	return append(changed, boundOutcome(ev.Outcome)...)
}

// boundOutcome cuts a build's outcome to the bounds in place: an unknown status is FAULT; at
// most MaxExportedVariables variables (by name order, shell names only, values of at most
// MaxVariableValue), MaxArtifacts artifacts with a SHA-256, MaxReports reports of at most
// MaxReportCases cases, every text clipped.
func boundOutcome(o *agentproto.BuildOutcome) (changed []string) {
	if !slices.Contains(endStatuses, o.Status) {
		o.Status = pub.BuildFault
		changed = append(changed, "status")
	}
	if len(o.ExportedVariables) > 0 {
		names := slices.Sorted(maps.Keys(o.ExportedVariables))
		vars := map[string]string{}
		for _, k := range names {
			v := o.ExportedVariables[k]
			if len(vars) == MaxExportedVariables || len(k) > MaxVariableName || !varNameRe.MatchString(k) {
				changed = append(changed, "exported_variables")
				continue
			}
			clipTo(&v, MaxVariableValue, "exported_variables", &changed)
			vars[k] = v
		}
		o.ExportedVariables = vars
	}
	if len(o.Artifacts) > MaxArtifacts {
		o.Artifacts = o.Artifacts[:MaxArtifacts]
		changed = append(changed, "artifacts")
	}
	arts := o.Artifacts[:0:0]
	for _, a := range o.Artifacts {
		if !blob.ValidSHA(a.SHA256) || a.Size < 0 {
			changed = append(changed, "artifacts")
			continue
		}
		clipTo(&a.Identifier, maxName, "artifacts", &changed)
		clipTo(&a.Name, maxName, "artifacts", &changed)
		arts = append(arts, a)
	}
	o.Artifacts = arts
	if len(o.Reports) > MaxReports {
		o.Reports = o.Reports[:MaxReports]
		changed = append(changed, "reports")
	}
	seen := map[string]bool{}
	reps := o.Reports[:0:0]
	for _, r := range o.Reports {
		clipTo(&r.Name, maxName, "reports", &changed)
		if r.Name == "" || seen[r.Name] {
			changed = append(changed, "reports")
			continue
		}
		seen[r.Name] = true
		changed = append(changed, boundReport(&r)...)
		reps = append(reps, r)
	}
	o.Reports = reps
	return changed
}

// boundReport cuts one report group's report in place.
func boundReport(r *agentproto.BuildReport) (changed []string) {
	clipTo(&r.Format, 32, "reports", &changed)
	clipTo(&r.Status, 32, "reports", &changed)
	clipTo(&r.Message, maxEventText, "reports", &changed)
	counts := map[string]int{}
	for _, s := range caseStatuses {
		if n := r.Counts[s]; n > 0 {
			counts[s] = n
		}
	}
	if len(counts) != len(r.Counts) {
		changed = append(changed, "reports")
	}
	r.Counts = counts
	r.Total = max(r.Total, 0)
	if len(r.Files) > MaxReportFiles {
		r.Files = r.Files[:MaxReportFiles]
		changed = append(changed, "reports")
	}
	for i := range r.Files {
		clipTo(&r.Files[i], MaxPath, "reports", &changed)
	}
	if len(r.Cases) > MaxReportCases {
		r.Cases = r.Cases[:MaxReportCases]
		r.Truncated = true
		changed = append(changed, "reports")
	}
	for i := range r.Cases {
		tc := &r.Cases[i]
		for _, f := range []*string{&tc.Name, &tc.Prefix, &tc.Suite, &tc.File} {
			clipTo(f, maxCaseName, "reports", &changed)
		}
		clipTo(&tc.Message, maxCaseText, "reports", &changed)
		clipTo(&tc.Output, maxCaseText, "reports", &changed)
		if !slices.Contains(caseStatuses, tc.Status) {
			tc.Status = "UNKNOWN"
			changed = append(changed, "reports")
		}
	}
	return changed
}

// boundLog cuts a log report in place: at most MaxLogLinesPerReport lines of at most
// agentproto.MaxLineBytes each, a phase name that is not an agent phase dropped.
func boundLog(l *ReportLog) (changed []string) {
	if len(l.Lines) > MaxLogLinesPerReport {
		l.Lines = l.Lines[:MaxLogLinesPerReport]
		changed = append(changed, "lines")
	}
	for i := range l.Lines {
		ln := &l.Lines[i]
		clipTo(&ln.Text, agentproto.MaxLineBytes, "text", &changed)
		if ln.Phase != "" && !slices.Contains(AgentPhases, ln.Phase) {
			ln.Phase = ""
			changed = append(changed, "phase")
		}
	}
	return changed
}

// checkEvent refuses an event the protocol never sends: an event that is neither an agent phase
// nor BuildEnd, a status that is not started, succeeded or failed (BuildEnd's is any).
func checkEvent(ev ReportEvent) error {
	if ev.Event == agentproto.BuildEnd {
		return nil
	}
	if !slices.Contains(AgentPhases, ev.Event) {
		return fault.New(fault.Invalid, "event %s is neither a build phase (%s) nor %s", state.Shorten(ev.Event), strings.Join(AgentPhases, ", "), agentproto.BuildEnd)
	}
	switch agentproto.Status(ev.Status) {
	case agentproto.StatusStarted, agentproto.StatusSucceeded, agentproto.StatusFailed:
		return nil
	}
	return fault.New(fault.Invalid, "event %s has the status %s; want started, succeeded or failed", ev.Event, state.Shorten(ev.Status))
}

// allowedEvent is checkEvent as a predicate, for apply.
func allowedEvent(ev ReportEvent) bool { return checkEvent(ev) == nil }

type reportItem struct {
	seq   uint64
	event *ReportEvent
	log   *ReportLog
}

// applyReport applies a host's reports on a build in sequence order, each once, and answers the
// acknowledgement to send the agent (agentproto.Ack). A report from a host the build is not
// assigned to is Forbidden (nothing acknowledged). Reports on a build that ended, or that no
// longer exists, are acknowledged and change nothing, so the agent's outbox drains. A gap in the
// sequence (an earlier report still on its way through another server) stops the apply there:
// what follows is not acknowledged and comes again.
func applyReport(tx *state.Tx, index uint64, c *command.Command, p ReportPayload) (any, error) {
	var items []reportItem
	for i := range p.Events {
		items = append(items, reportItem{seq: p.Events[i].Seq, event: &p.Events[i]})
	}
	for i := range p.Logs {
		items = append(items, reportItem{seq: p.Logs[i].Seq, log: &p.Logs[i]})
	}
	slices.SortStableFunc(items, func(a, b reportItem) int { return cmp.Compare(a.seq, b.seq) })
	var last uint64
	if len(items) > 0 {
		last = items[len(items)-1].seq
	}
	ack := agentproto.Ack{Kind: agentproto.KindBuild, DeploymentID: p.ID}
	b, ok, err := getBuild(tx, p.ID)
	if err != nil {
		return nil, err
	}
	if !ok {
		ack.Seq = last
		return ack, nil
	}
	if b.Agent != p.Host {
		return nil, fault.New(fault.Forbidden, "build %s is not assigned to host %s", b.ID, state.Shorten(p.Host))
	}
	if b.Ended() {
		ack.Seq = max(b.ReportSeq, last)
		return ack, nil
	}
	for _, it := range items {
		if it.seq <= b.ReportSeq {
			continue // a resend: acknowledged, ignored
		}
		if it.seq != b.ReportSeq+1 {
			break
		}
		b.ReportSeq = it.seq
		if b.Ended() {
			continue // what follows the end: acknowledged, ignored
		}
		if it.log != nil {
			if err := appendLog(tx, &b, *it.log); err != nil {
				return nil, err
			}
			continue
		}
		if err := applyEvent(tx, &b, *it.event, c.Time); err != nil {
			return nil, err
		}
	}
	b.ModifyIndex = index
	ack.Seq = b.ReportSeq
	return ack, state.Put(tx, bucketBuilds, b.ID, b)
}

// eventTime is when an event happened: the agent's time, unless it is missing, later than the
// command's or earlier than the build's latest phase start (a clock off), then the command's or
// that start.
func eventTime(b Build, at, now time.Time) time.Time {
	if at.IsZero() || at.After(now) {
		at = now
	}
	if n := len(b.Phases); n > 0 && at.Before(b.Phases[n-1].Start) {
		at = b.Phases[n-1].Start
	}
	return at
}

// applyEvent records a phase's start or end, or the build's end.
func applyEvent(tx *state.Tx, b *Build, ev ReportEvent, now time.Time) error {
	boundEvent(&ev)
	if !allowedEvent(ev) {
		return nil // Check refused such events; one in the log changes nothing
	}
	at := eventTime(*b, ev.Time, now)
	if ev.Event == agentproto.BuildEnd {
		return endBuild(tx, b, ev, at)
	}
	switch agentproto.Status(ev.Status) {
	case agentproto.StatusStarted:
		if slices.ContainsFunc(b.Phases, func(p Phase) bool { return p.Name == ev.Event }) {
			return nil // each phase runs once
		}
		if n := len(b.Phases); n > 0 && b.Phases[n-1].End == nil {
			if b.Phases[n-1].Status == "" {
				b.Phases[n-1].Status = pub.BuildSucceeded
			}
			b.Phases[n-1].End = &at
		}
		b.Phases = append(b.Phases, Phase{Name: ev.Event, Start: at})
	default:
		for i := len(b.Phases) - 1; i >= 0; i-- {
			p := &b.Phases[i]
			if p.Name != ev.Event || p.End != nil {
				continue
			}
			p.Status = ev.Result
			if p.Status == "" {
				p.Status = pub.BuildSucceeded
				if agentproto.Status(ev.Status) == agentproto.StatusFailed {
					p.Status = pub.BuildFailed
				}
			}
			p.Message, p.End = ev.Message, &at
			break
		}
	}
	return nil
}

// endBuild ends a build as its agent reported: its status (STOPPED only when a stop was
// requested, else FAILED), artifacts (those whose blob is recorded, each referenced by the
// build), exported variables and reports (summaries on the record, cases in build/reports).
func endBuild(tx *state.Tx, b *Build, ev ReportEvent, at time.Time) error {
	o := ev.Outcome
	status, msg := o.Status, ev.Message
	if status == pub.BuildStopped && !b.StopRequested {
		status, msg = pub.BuildFailed, strings.TrimSpace("the agent reported the build STOPPED, but no stop was requested. "+msg)
	}
	for _, a := range o.Artifacts {
		if _, err := tx.Blobs().Get(a.SHA256); err != nil {
			continue // not uploaded (the proposer dropped such artifacts too)
		}
		if err := tx.Blobs().AddRef(a.SHA256, blobOwner(b.ID)); err != nil {
			return err
		}
		b.Artifacts = append(b.Artifacts, Artifact{Identifier: a.Identifier, Name: a.Name, Blob: a.SHA256, Size: a.Size})
	}
	if len(o.ExportedVariables) > 0 {
		b.ExportedVariables = o.ExportedVariables
	}
	for _, r := range o.Reports {
		raw, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketReports).Put(reportKey(b.ID, r.Name), raw); err != nil {
			return err
		}
		b.Reports = append(b.Reports, ReportSummary{Name: r.Name, Format: r.Format, Status: r.Status, Total: r.Total, Counts: r.Counts, Truncated: r.Truncated})
	}
	phaseStatus := status
	if n := len(b.Phases); n > 0 && b.Phases[n-1].End == nil && b.Phases[n-1].Status != "" {
		phaseStatus = b.Phases[n-1].Status
	}
	b.end(at, status, phaseStatus, msg)
	return endRunning(tx, *b)
}

// blobOwner is how a build references the blobs of its artifacts (state.Blobs.AddRef); whoever
// deletes the build's record removes the references.
func blobOwner(id string) string { return "build:" + id }

func reportKey(id, name string) []byte { return append(append([]byte(id), 0), name...) }

// appendLog appends a log report's lines to the build's log as one build/logs batch, numbered
// after LogLines. Once LogBytes would pass MaxLogBytes the rest is dropped and the log marked
// truncated.
func appendLog(tx *state.Tx, b *Build, l ReportLog) error {
	boundLog(&l)
	if b.LogTruncated || len(l.Lines) == 0 {
		return nil
	}
	batch := logBatch{First: b.LogLines + 1}
	for _, ln := range l.Lines {
		if b.LogBytes+int64(len(ln.Text)) > MaxLogBytes {
			b.LogTruncated = true
			break
		}
		b.LogBytes += int64(len(ln.Text))
		batch.Lines = append(batch.Lines, ln)
	}
	if len(batch.Lines) == 0 {
		return nil
	}
	raw, err := json.Marshal(batch)
	if err != nil {
		return err
	}
	b.LogLines += uint64(len(batch.Lines))
	return tx.Bucket(bucketLogs).Put(logKey(b.ID, batch.First), raw)
}
