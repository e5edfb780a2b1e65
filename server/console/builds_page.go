package console

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/build"
)

// phaseRow is one phase of a build on its page.
type phaseRow struct {
	Name, Status, Duration, Message string
	Start                           time.Time
	Running                         bool
}

// logRow is one line of the log as the page renders it; Marker opens a phase (the first line
// of a phase other than the line before's).
type logRow struct {
	N            uint64
	Phase, Text  string
	Marker       bool
	Time         time.Time
	MarkerPhase  string
	MarkerAnchor string
}

// artifactRow is an artifact with its download link.
type artifactRow struct {
	Label, File, Href, Blob string
	Size                    int64
}

// reportRow is a report group with its cases, failures first.
type reportRow struct {
	build.ReportSummary
	Counts    []countCell
	Cases     []caseRow
	Message   string
	CasesCut  bool
	HaveCases bool
}

// caseRow is a test case with its duration as the page shows it.
type caseRow struct {
	pub.BuildTestCase
	Duration string
}

// countCell is one status's count of a report.
type countCell struct {
	Status string
	N      int
}

// variable is an environment or exported variable as the page lists it.
type variable struct{ Name, Value, Type string }

// buildPageData is a build's page.
type buildPageData struct {
	B                 build.Build
	Phases            []phaseRow
	Duration          string
	Phase             string // the current phase
	Ended             bool
	Variables         []variable
	Exported          []variable
	Artifacts         []artifactRow
	Reports           []reportRow
	ReportsNote       string
	CanStop           bool
	CanReadRepo       bool
	Error             string
	Log               []logRow
	LogAvailable      bool
	LogError          string
	LogAfter, LogNext uint64 // the lines rendered are LogAfter+1 .. LogNext
	LogEarlier        string // the link to the lines before the ones rendered ("" none)
	LogLater          string // the link to the lines after (a page opened at ?log_after=)
	LogPhase          string // the phase of the last line rendered (the script's next marker)
	LogDone           bool   // the build ended and every line is rendered (the script stops)
}

// buildPageOf makes a build's page from its record, as of now (a phase still running has run
// until now).
func buildPageOf(b build.Build, now time.Time) buildPageData {
	d := buildPageData{B: b, Ended: b.Ended()}
	end := now
	if b.End != nil {
		end = *b.End
	}
	d.Duration = roundDuration(end.Sub(b.Start))
	for _, p := range b.Phases {
		row := phaseRow{Name: p.Name, Status: p.Status, Message: p.Message, Start: p.Start}
		switch {
		case p.End != nil:
			row.Duration = roundDuration(p.End.Sub(p.Start))
		case p.Name == build.PhaseCompleted:
		default:
			row.Running = true
			row.Duration = roundDuration(now.Sub(p.Start))
		}
		d.Phases = append(d.Phases, row)
		d.Phase = p.Name
	}
	for _, v := range b.Environment.Variables {
		d.Variables = append(d.Variables, variable{Name: v.Name, Value: v.Value, Type: v.Type})
	}
	for _, k := range slices.Sorted(maps.Keys(b.ExportedVariables)) {
		d.Exported = append(d.Exported, variable{Name: k, Value: b.ExportedVariables[k]})
	}
	for _, a := range b.Artifacts {
		key := artifactKey(a)
		label := "primary"
		if a.Identifier != "" {
			label = a.Identifier
		}
		d.Artifacts = append(d.Artifacts, artifactRow{Label: label, File: artifactFile(b, a), Blob: a.Blob, Size: a.Size,
			Href: buildURL(b.ID) + "/artifacts/" + url.PathEscape(key)})
	}
	return d
}

// artifactKey is the name an artifact is downloaded by: "primary", or a secondary one's
// identifier.
func artifactKey(a build.Artifact) string {
	if a.Identifier == "" {
		return "primary"
	}
	return a.Identifier
}

// artifactFile is the file name an artifact downloads as: its name, else PROJECT-NUMBER(-ID),
// with .zip; a character other than a letter, a digit, '.', '_' or '-' becomes '_' (the name
// comes from the buildspec and goes into a Content-Disposition header).
func artifactFile(b build.Build, a build.Artifact) string {
	n := strings.Map(func(r rune) rune {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return r
		}
		return '_'
	}, a.Name)
	if len(n) > 200 {
		n = n[:200]
	}
	if n == "" {
		n = b.Project + "-" + strconv.FormatUint(b.Number, 10)
		if a.Identifier != "" {
			n += "-" + a.Identifier
		}
	}
	if len(n) < 4 || n[len(n)-4:] != ".zip" {
		n += ".zip"
	}
	return n
}

// readLog reads the lines the page renders: the newest buildLogShown lines, or those after
// ?log_after= (hasAfter), with the links to the lines before and after them.
func (d *buildPageData) readLog(ctx context.Context, logs BuildLogs, b build.Build, after uint64, hasAfter bool) {
	if logs == nil {
		d.LogDone = d.Ended
		return
	}
	d.LogAvailable = true
	if !hasAfter && b.LogLines > buildLogShown {
		after = b.LogLines - buildLogShown
	}
	p, err := logs.LogPage(ctx, b.ID, after, buildLogShown)
	if err != nil {
		d.LogError = errText(err)
		d.LogDone = d.Ended
		return
	}
	d.LogAfter, d.LogNext, d.LogDone = after, p.Next, p.Ended
	if p.Next < after {
		d.LogNext = after
	}
	if after > 0 {
		earlier := uint64(0)
		if after > buildLogShown {
			earlier = after - buildLogShown
		}
		d.LogEarlier = buildURL(b.ID) + "?log_after=" + strconv.FormatUint(earlier, 10) + "#log"
	}
	if hasAfter && !p.Ended && len(p.Lines) == buildLogShown {
		d.LogLater = buildURL(b.ID) + "?log_after=" + strconv.FormatUint(d.LogNext, 10) + "#log"
		d.LogDone = true // a page of the past: the script does not follow it
	}
	prev := ""
	for _, l := range p.Lines {
		row := logRow{N: l.N, Phase: l.Phase, Text: l.Text, Time: l.Time}
		if l.Phase != prev && l.Phase != "" {
			row.Marker, row.MarkerPhase = true, l.Phase
			row.MarkerAnchor = fmt.Sprintf("log-%d", l.N)
		}
		if l.Phase != "" {
			prev = l.Phase
		}
		d.Log = append(d.Log, row)
	}
	d.LogPhase = prev
}

// caseRank orders a report's cases: failures and errors first, then the others.
func caseRank(status string) int {
	switch status {
	case "FAILED":
		return 0
	case "ERROR":
		return 1
	case "UNKNOWN":
		return 2
	case "SKIPPED":
		return 4
	}
	return 3
}

// readReports lists the build's report groups from its record, each with its cases when the
// reports reader answers (failures first).
func (d *buildPageData) readReports(ctx context.Context, reports BuildReports, b build.Build) {
	full := map[string]pub.BuildReport{}
	if len(b.Reports) > 0 && reports != nil {
		list, err := reports.Reports(ctx, b.ID)
		if err != nil {
			d.ReportsNote = "The test cases could not be read: " + errText(err)
		}
		for _, r := range list {
			full[r.Name] = r
		}
	} else if len(b.Reports) > 0 {
		d.ReportsNote = "This server cannot read the reports' test cases: their counts are shown."
	}
	for _, s := range b.Reports {
		row := reportRow{ReportSummary: s}
		for _, k := range slices.Sorted(maps.Keys(s.Counts)) {
			row.Counts = append(row.Counts, countCell{Status: k, N: s.Counts[k]})
		}
		if r, ok := full[s.Name]; ok {
			row.HaveCases, row.Message = true, r.Message
			cases := slices.Clone(r.Cases)
			slices.SortStableFunc(cases, func(a, b pub.BuildTestCase) int { return caseRank(a.Status) - caseRank(b.Status) })
			if len(cases) > buildCasesShown {
				cases, row.CasesCut = cases[:buildCasesShown], true
			}
			for _, c := range cases {
				row.Cases = append(row.Cases, caseRow{BuildTestCase: c, Duration: roundDuration(time.Duration(c.DurationNS))})
			}
			row.CasesCut = row.CasesCut || r.Truncated
		}
		d.Reports = append(d.Reports, row)
	}
}
