package console

import (
	"context"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/build"
)

// fakeLogs answers a log of total lines, each printed by the phase phaseOf(n), and records the
// page asked for.
type fakeLogs struct {
	total        uint64
	ended        bool
	phaseOf      func(n uint64) string
	after        uint64
	limit, calls int
}

func (f *fakeLogs) LogPage(_ context.Context, _ string, after uint64, limit int) (BuildLogPage, error) {
	f.after, f.limit, f.calls = after, limit, f.calls+1
	p := BuildLogPage{Next: after}
	for n := after + 1; n <= f.total && len(p.Lines) < limit; n++ {
		p.Lines = append(p.Lines, BuildLogLine{N: n, Phase: f.phaseOf(n), Text: "line <b>" + time.Duration(n).String() + "</b>"})
		p.Next = n
	}
	p.Ended = f.ended && p.Next == f.total
	return p, nil
}

type fakeReports []pub.BuildReport

func (f fakeReports) Reports(context.Context, string) ([]pub.BuildReport, error) {
	return f, nil
}

func ended(t time.Time) *time.Time { return &t }

// renderBuildPage renders the build page's template with d as the console does.
func renderBuildPage(t *testing.T, d buildPageData) string {
	t.Helper()
	m := &Module{pages: parsePages()}
	w := httptest.NewRecorder()
	if err := m.render(w, 200, "build", page{Title: "Build", User: "ana", CSRF: "token", Data: d}); err != nil {
		t.Fatal(err)
	}
	return w.Body.String()
}

// TestBuildPageRendering renders a finished build's page from its record, a log reader and a
// reports reader: phase markers before each phase's first line (and only there), the text
// escaped, the newest lines with a link to the earlier ones, phases with durations, exported
// variables, artifacts' download links, and each report's cases failures first.
func TestBuildPageRendering(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	b := build.Build{ID: "web:6f1c2c3d-1111-4222-8333-444455556666", Project: "web", Number: 7, Status: pub.BuildFailed, Initiator: "ana",
		Source: build.Source{Type: pub.SourceSlipwayRepo, Repository: "shop", Buildspec: "buildspec.yml"}, ResolvedSourceVersion: strings.Repeat("ab", 20),
		Start: t0, End: ended(t0.Add(90 * time.Second)), LogLines: 2500,
		Phases: []build.Phase{
			{Name: "SUBMITTED", Status: "SUCCEEDED", Start: t0, End: ended(t0)},
			{Name: "QUEUED", Status: "SUCCEEDED", Start: t0, End: ended(t0.Add(2 * time.Second))},
			{Name: "BUILD", Status: "FAILED", Start: t0.Add(2 * time.Second), End: ended(t0.Add(90 * time.Second)), Message: "exit status 2"},
			{Name: "COMPLETED", Start: t0.Add(90 * time.Second)},
		},
		ExportedVariables: map[string]string{"VERSION": "1.2.3", "A": "first"},
		Artifacts:         []build.Artifact{{Blob: strings.Repeat("c", 64), Size: 1234}, {Identifier: "docs", Name: "site.zip", Blob: strings.Repeat("d", 64), Size: 99}},
		Reports:           []build.ReportSummary{{Name: "unit", Format: "JUNITXML", Status: "FAILED", Total: 4, Counts: map[string]int{"SUCCEEDED": 1, "FAILED": 1, "SKIPPED": 1, "ERROR": 1}}},
	}
	logs := &fakeLogs{total: 2500, ended: true, phaseOf: func(n uint64) string {
		if n <= 2000 {
			return "INSTALL"
		}
		return "BUILD"
	}}
	reports := fakeReports{{Name: "unit", Format: "JUNITXML", Status: "FAILED", Total: 4, Cases: []pub.BuildTestCase{
		{Name: "passes", Status: "SUCCEEDED", DurationNS: 1500000}, {Name: "skipped", Status: "SKIPPED"},
		{Name: "breaks", Status: "FAILED", Message: "want 1, got 2"}, {Name: "crashes", Status: "ERROR"}}}}

	d := buildPageOf(b, t0.Add(time.Hour))
	d.readLog(context.Background(), logs, b, 0, false)
	d.readReports(context.Background(), reports, b)
	if logs.after != 1500 || logs.limit != buildLogShown {
		t.Fatalf("the page read the log after line %d (limit %d); want the newest %d lines, after 1500", logs.after, logs.limit, buildLogShown)
	}
	html := renderBuildPage(t, d)
	for _, want := range []string{
		`<span class="marker" id="log-1501">▶ INSTALL</span><span class="line"><span class="n">1501</span>`,
		`<span class="marker" id="log-2001">▶ BUILD</span><span class="line"><span class="n">2001</span>`,
		`line &lt;b&gt;`,
		`href="/ui/builds/web:6f1c2c3d-1111-4222-8333-444455556666?log_after=500#log">Earlier lines`,
		`data-done="true"`,
		`<tr class="phase" data-phase="BUILD"><td>BUILD</td><td><span class="badge failed">FAILED</span></td><td>2026-12-07 10:00:02Z</td><td>1m28s</td><td>exit status 2</td>`,
		`href="/ui/builds/web:6f1c2c3d-1111-4222-8333-444455556666/artifacts/primary" download>web-7.zip</a>`,
		`href="/ui/builds/web:6f1c2c3d-1111-4222-8333-444455556666/artifacts/docs" download>site.zip</a>`,
		`4 cases, 1 error, 1 failed, 1 skipped, 1 succeeded`,
		`<pre>want 1, got 2</pre>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if n := strings.Count(html, `class="marker"`); n != 2 {
		t.Errorf("%d phase markers; want 2 (one per phase)", n)
	}
	if strings.Contains(html, "<b>") {
		t.Error("the log's text is not escaped")
	}
	order := regexp.MustCompile(`<tr class="case (\w+)">`).FindAllStringSubmatch(html, -1)
	var got []string
	for _, m := range order {
		got = append(got, m[1])
	}
	if strings.Join(got, ",") != "failed,error,succeeded,skipped" {
		t.Errorf("the cases are in the order %v; want failures first", got)
	}
	if i, j := strings.Index(html, "<code>A</code>"), strings.Index(html, "<code>VERSION</code>"); i < 0 || j < i {
		t.Error("the exported variables are not listed in name order")
	}

	// An older page of the log (?log_after=) links to both sides and is not followed live.
	logs.ended = false
	d = buildPageOf(b, t0.Add(time.Hour))
	d.readLog(context.Background(), logs, b, 100, true)
	html = renderBuildPage(t, d)
	if logs.after != 100 || !strings.Contains(html, "?log_after=1100#log\">Later lines") || !strings.Contains(html, `data-done="true"`) ||
		!strings.Contains(html, `<span class="marker" id="log-101">▶ INSTALL</span>`) {
		t.Errorf("a page of the log from line 101: after %d\n%s", logs.after, html)
	}

	// Without a log or reports reader, the page says so and shows the record's counts.
	d = buildPageOf(b, t0.Add(time.Hour))
	d.readLog(context.Background(), nil, b, 0, false)
	d.readReports(context.Background(), nil, b)
	html = renderBuildPage(t, d)
	for _, want := range []string{"This server cannot show build logs", "slipway build logs web:6f1c2c3d", "their counts are shown", `data-done="true"`} {
		if !strings.Contains(html, want) {
			t.Errorf("without readers, the page lacks %q", want)
		}
	}

	// A running build: its open phase runs until now, the script follows it.
	run := b
	run.Status, run.End, run.LogLines, run.Reports, run.Artifacts, run.ExportedVariables = pub.BuildInProgress, nil, 3, nil, nil, nil
	run.Phases = []build.Phase{{Name: "SUBMITTED", Status: "SUCCEEDED", Start: t0, End: ended(t0)}, {Name: "BUILD", Start: t0}}
	live := &fakeLogs{total: 3, phaseOf: func(uint64) string { return "BUILD" }}
	d = buildPageOf(run, t0.Add(75*time.Second))
	d.readLog(context.Background(), live, run, 0, false)
	html = renderBuildPage(t, d)
	for _, want := range []string{`data-log-next="3"`, `data-log-phase="BUILD"`, `data-done="false"`, `<span class="badge in_progress">running</span></td><td>2026-12-07 10:00:00Z</td><td>1m15s</td>`,
		`<dd id="build-phase">BUILD</dd>`, "Exported when the build ends."} {
		if !strings.Contains(html, want) {
			t.Errorf("the running build's page lacks %q", want)
		}
	}
}

// TestArtifactFile names downloads: the artifact's name, else PROJECT-NUMBER(-IDENTIFIER),
// always .zip, and nothing a header could be broken by.
func TestArtifactFile(t *testing.T) {
	b := build.Build{Project: "web", Number: 3}
	for _, tc := range []struct {
		a    build.Artifact
		want string
	}{{build.Artifact{}, "web-3.zip"}, {build.Artifact{Identifier: "docs"}, "web-3-docs.zip"}, {build.Artifact{Name: "out"}, "out.zip"}, {build.Artifact{Name: "out.zip"}, "out.zip"},
		{build.Artifact{Name: "a\"b;\r\nc/d"}, "a_b___c_d.zip"}} {
		if got := artifactFile(b, tc.a); got != tc.want {
			t.Errorf("artifactFile(%+v) = %q; want %q", tc.a, got, tc.want)
		}
	}
}
