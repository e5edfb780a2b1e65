package console

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/build"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
)

func init() { pageSets = append(pageSets, (*Module).buildsRoutes) }

// Bounds of the builds pages.
const (
	buildsPerPage   = 100  // builds a list page shows
	buildsScanned   = 5000 // builds a filtered list page reads at most to fill itself
	buildLogShown   = 1000 // log lines a build's page renders (the newest, or from ?log_after=)
	buildLogPolled  = 1000 // log lines one poll of the page's script gets
	buildCasesShown = 500  // test cases shown per report (the agent keeps at most 500)
)

// buildsRoutes are the pages of builds: the list across projects, a build's page, its log for
// the page's script, an artifact's download and the stop form. Each is authorized by the action
// of the /v1/builds route that answers the same question, on the build's project (its ID names
// it: PROJECT:UUID).
func (m *Module) buildsRoutes() []api.Route {
	if m.builds == nil {
		return nil
	}
	one := func(method, pattern, action string, h api.HandlerFunc) api.Route {
		return api.Route{Method: method, Pattern: pattern, Access: api.Console, Action: action, Resource: "project/*", Handle: h, ResolveResource: buildResource}
	}
	return []api.Route{
		{Method: "GET", Pattern: "/ui/builds", Access: api.Console, Action: "codebuild:ListBuilds", Resource: "project/*", Handle: m.buildList},
		one("GET", "/ui/builds/{id}", "codebuild:BatchGetBuilds", m.buildPage),
		one("GET", "/ui/builds/{id}/log", "codebuild:BatchGetBuilds", m.buildLog),
		one("GET", "/ui/builds/{id}/artifacts/{name}", "codebuild:BatchGetBuilds", m.buildArtifact),
		one("POST", "/ui/builds/{id}/stop", "codebuild:StopBuild", m.buildStop),
	}
}

// buildResource names the project of the build in the path (project/* for an ID that is not
// PROJECT:UUID: only a policy on every project reaches the handler, which refuses it).
func buildResource(r *http.Request) (string, error) {
	if project, _, err := build.SplitID(r.PathValue("id")); err == nil {
		return "project/" + project, nil
	}
	return "project/*", nil
}

// buildURL is the console's address of a build's page.
func buildURL(id string) string { return "/ui/builds/" + url.PathEscape(id) }

// buildStatuses are the statuses the list filters by, in CodeBuild's order.
var buildStatuses = []string{pub.BuildQueued, pub.BuildInProgress, pub.BuildSucceeded, pub.BuildFailed, pub.BuildFault, pub.BuildStopped, pub.BuildTimedOut}

// buildRow is a build in a list.
type buildRow struct {
	pub.Build
	Href, Duration string
}

func buildRowOf(b pub.Build, now time.Time) buildRow {
	end := now
	if b.EndTime != nil {
		end = *b.EndTime
	}
	return buildRow{Build: b, Href: buildURL(b.ID), Duration: roundDuration(end.Sub(b.StartTime))}
}

// roundDuration is a duration as a page shows it: to the second (to the millisecond under one).
func roundDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// buildListData is the builds list's: the status filter, the page and the next page's link.
type buildListData struct {
	Status   string
	Statuses []string
	Builds   []buildRow
	Next     string
	Scanned  bool // the filter read buildsScanned builds without filling the page
	Error    string
}

// buildList lists the cluster's builds newest first, a page of buildsPerPage (or ?limit=),
// filtered by ?status= (read from the newest, at most buildsScanned builds a page), ?next= for
// the next page.
func (m *Module) buildList(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	q := r.URL.Query()
	d := buildListData{Status: q.Get("status"), Statuses: buildStatuses}
	if d.Status != "" && !contains(buildStatuses, d.Status) {
		d.Error = "status " + strconv.Quote(d.Status) + " is not a build status: use one of the list's"
		return m.render(w, http.StatusBadRequest, "builds", frame(r, id.Token.User, "Builds", d))
	}
	pg, err := m.core.HTTP.Page(r)
	if err != nil {
		return err
	}
	if q.Get("limit") == "" {
		pg.Limit = buildsPerPage
	}
	list, next, scanned, err := m.filterBuilds(r.Context(), pg, d.Status)
	if fault.CodeOf(err) == fault.Invalid {
		d.Error = errText(err)
		return m.render(w, http.StatusBadRequest, "builds", frame(r, id.Token.User, "Builds", d))
	}
	if err != nil {
		return err
	}
	now := m.core.Now()
	for _, b := range list {
		d.Builds = append(d.Builds, buildRowOf(b, now))
	}
	d.Scanned = scanned
	if next != "" {
		v := url.Values{"next": {next}}
		if d.Status != "" {
			v.Set("status", d.Status)
		}
		if l := q.Get("limit"); l != "" {
			v.Set("limit", l)
		}
		d.Next = "/ui/builds?" + v.Encode()
	}
	return m.render(w, http.StatusOK, "builds", frame(r, id.Token.User, "Builds", d))
}

// filterBuilds reads the cluster's builds newest first from cursor pg.After, keeping those of
// status ("" every one), until pg.Limit are kept, the history ends or buildsScanned builds were
// read (scanned). next continues after the last build read: a build's history cursor is its
// create index (the list answers the builds before it).
func (m *Module) filterBuilds(ctx context.Context, pg api.Page, status string) (out []pub.Build, next string, scanned bool, err error) {
	if status == "" {
		out, next, err = m.builds.Builds().List(ctx, pg)
		return out, next, false, err
	}
	after := pg.After
	read := 0
	for {
		page, pageNext, err := m.builds.Builds().List(ctx, api.Page{After: after, Limit: 500})
		if err != nil {
			return nil, "", false, err
		}
		for i, b := range page {
			read++
			if b.Status != status {
				continue
			}
			out = append(out, b)
			if len(out) == pg.Limit {
				if i == len(page)-1 {
					return out, pageNext, false, nil
				}
				return out, strconv.FormatUint(b.CreateIndex, 10), false, nil
			}
		}
		if pageNext == "" {
			return out, "", false, nil
		}
		if after = pageNext; read >= buildsScanned {
			return out, after, true, nil
		}
	}
}

// buildRecord reads a build's record; one not found on this server is looked for again after a
// consistent read (started through another server a moment ago).
func (m *Module) buildRecord(r *http.Request, buildID string) (build.Build, error) {
	b, err := m.builds.Builds().Record(buildID)
	if fault.CodeOf(err) == fault.NotFound {
		ctx, cancel := m.core.HTTP.WaitContext(r)
		defer cancel()
		if rerr := m.core.Cluster.ConsistentRead(ctx); rerr != nil {
			return build.Build{}, fault.New(fault.Unavailable, "this server cannot read builds now: %v", rerr)
		}
		b, err = m.builds.Builds().Record(buildID)
	}
	return b, err
}

// buildPage shows a build, all rendered here (without JavaScript the page is complete as
// rendered; assets/build.js keeps its status and log live).
func (m *Module) buildPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.renderBuild(w, r, id, http.StatusOK, "")
}

func (m *Module) renderBuild(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, problem string) error {
	b, err := m.buildRecord(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	logAfter, hasAfter := uint64(0), false
	if s := r.URL.Query().Get("log_after"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fault.New(fault.Invalid, "log_after %q is not a line number", s)
		}
		logAfter, hasAfter = n, true
	}
	d := buildPageOf(b, m.core.Now())
	d.Error = problem
	d.CanStop = !b.Ended() && !b.StopRequested && m.core.HTTP.Allowed(r, id, "codebuild:StopBuild", "project/"+b.Project)
	d.CanReadRepo = b.Source.Repository != "" && m.core.HTTP.Allowed(r, id, "codecommit:GetCommit", "repo/"+b.Source.Repository)
	ctx, cancel := m.core.HTTP.WaitContext(r)
	defer cancel()
	d.readLog(ctx, m.BuildLogs, b, logAfter, hasAfter)
	d.readReports(ctx, m.BuildReports, b)
	return m.render(w, status, "build", frame(r, id.Token.User, "Build "+b.Project+" #"+strconv.FormatUint(b.Number, 10), d))
}

// buildLogAnswer is what the page's script polls: a page of the log after ?after=, the
// build's status and current phase, and its phases as the page's table shows them.
type buildLogAnswer struct {
	BuildLogPage
	Status    string        `json:"status"`
	Phase     string        `json:"phase"`
	Phases    []phaseAnswer `json:"phases"`
	Available bool          `json:"available"` // this server can read build logs
}

// phaseAnswer is a row of the phases table for the page's script: the cells' text as the page
// renders them (started as the template's when, duration as far as now for a running phase).
type phaseAnswer struct {
	Name     string `json:"name"`
	Status   string `json:"status,omitempty"`
	Running  bool   `json:"running,omitempty"`
	Started  string `json:"started"`
	Duration string `json:"duration"`
	Message  string `json:"message,omitempty"`
}

// phaseAnswers are the phases of the build's page d.
func phaseAnswers(d buildPageData) []phaseAnswer {
	out := make([]phaseAnswer, 0, len(d.Phases))
	for _, p := range d.Phases {
		started := "—"
		if !p.Start.IsZero() {
			started = p.Start.UTC().Format("2006-01-02 15:04:05Z")
		}
		out = append(out, phaseAnswer{Name: p.Name, Status: p.Status, Running: p.Running, Started: started, Duration: p.Duration, Message: p.Message})
	}
	return out
}

// buildLog answers the page's script: up to buildLogPolled lines after ?after=, the build's
// status and its phases (JSON). It is a console route, so the session's cookie is the credential.
func (m *Module) buildLog(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	after, err := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
	if err != nil && r.URL.Query().Get("after") != "" {
		return fault.New(fault.Invalid, "after %q is not a line number", r.URL.Query().Get("after"))
	}
	b, err := m.buildRecord(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	d := buildPageOf(b, m.core.Now())
	a := buildLogAnswer{BuildLogPage: BuildLogPage{Lines: []BuildLogLine{}, Next: after, Ended: b.Ended()}, Status: b.Status,
		Phase: d.Phase, Phases: phaseAnswers(d), Available: m.BuildLogs != nil}
	if m.BuildLogs != nil {
		ctx, cancel := m.core.HTTP.WaitContext(r)
		defer cancel()
		p, err := m.BuildLogs.LogPage(ctx, b.ID, after, buildLogPolled)
		if err != nil {
			return err
		}
		if p.Lines == nil {
			p.Lines = []BuildLogLine{}
		}
		a.BuildLogPage = p
	}
	securityHeaders(w)
	m.core.HTTP.JSON(w, http.StatusOK, a)
	return nil
}

// buildArtifact downloads one of a build's artifacts from the blob store: {name} is "primary"
// or a secondary artifact's identifier.
func (m *Module) buildArtifact(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	b, err := m.buildRecord(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	for _, a := range b.Artifacts {
		if artifactKey(a) == name {
			securityHeaders(w)
			return m.core.HTTP.ServeBlob(w, r, a.Blob, artifactFile(b, a))
		}
	}
	return fault.New(fault.NotFound, "build %s has no artifact %q", b.ID, name)
}

// buildStop stops the build and goes back to its page; a refusal is shown on the page.
func (m *Module) buildStop(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	b, err := m.builds.Builds().Stop(ctx, actorOf(id), r.PathValue("id"))
	if c := fault.CodeOf(err); c == fault.Invalid || c == fault.Conflict {
		return m.renderBuild(w, r, id, http.StatusConflict, errText(err))
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, buildURL(b.ID), http.StatusSeeOther)
	return nil
}
