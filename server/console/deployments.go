package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/deploy"
)

func init() { pageSets = append(pageSets, (*Module).deploymentsRoutes) }

// deploymentsPerPage is the length of a page of the deployments list.
const deploymentsPerPage = 100

// deploymentsRoutes are the pages of deployments: the list, one deployment (and its live
// watch), the create form, stop and redeploy. Each is authorized by the API action that
// answers the same question, on the same resource (a deployment's is its group's).
func (m *Module) deploymentsRoutes() []api.Route {
	one := m.deploy.DeploymentResource
	return []api.Route{
		{Method: "GET", Pattern: "/ui/deployments", Access: api.Console, Action: "codedeploy:ListDeployments", Resource: "deployment/*", Handle: m.deploymentList, ResolveResource: m.deploy.DeploymentListResource},
		{Method: "GET", Pattern: "/ui/deployments/new", Access: api.Console, Action: "codedeploy:CreateDeployment", Resource: "deployment/*", Handle: m.deploymentNew},
		{Method: "POST", Pattern: "/ui/deployments", Access: api.Console, Action: "codedeploy:CreateDeployment", Resource: "deployment/*", Handle: m.deploymentCreate},
		{Method: "GET", Pattern: "/ui/deployments/{id}", Access: api.Console, Action: "codedeploy:GetDeployment", Resource: "deployment/{id}", Handle: m.deploymentPage, ResolveResource: one},
		{Method: "GET", Pattern: "/ui/deployments/{id}/watch", Access: api.Console, Action: "codedeploy:WatchDeployment", Resource: "deployment/{id}", Handle: m.deploymentWatch, ResolveResource: one},
		{Method: "POST", Pattern: "/ui/deployments/{id}/stop", Access: api.Console, Action: "codedeploy:StopDeployment", Resource: "deployment/{id}", Handle: m.deploymentStop, ResolveResource: one},
		{Method: "POST", Pattern: "/ui/deployments/{id}/redeploy", Access: api.Console, Action: "codedeploy:CreateDeployment", Resource: "deployment/{id}", Handle: m.deploymentRedeploy, ResolveResource: one},
	}
}

// deploymentListData is the list page's: the filters (echoed into the form), the page and the
// link to the next one.
type deploymentListData struct {
	App, Group, Status string
	Host               string
	Statuses           []string
	Deployments        []pub.Deployment
	Sort               tableSort
	Next               string // the next page's URL, "" on the last
	CanCreate          bool
	Error              string
}

// deploymentList lists deployments, newest first, filtered by ?app=, ?group=, ?host= and
// ?status=, a page of deploymentsPerPage at a time (?next= from the previous page).
func (m *Module) deploymentList(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	q := r.URL.Query()
	d := deploymentListData{App: q.Get("app"), Group: q.Get("group"), Status: q.Get("status"), Host: q.Get("host"),
		Statuses:  []string{deploy.DeploymentInProgress, deploy.DeploymentSucceeded, deploy.DeploymentFailed, deploy.DeploymentStopped},
		CanCreate: m.core.HTTP.Allowed(r, id, "codedeploy:CreateDeployment", "deployment/*")}
	list, next, err := m.deploy.Deployments().Query(deploy.DeploymentQuery{App: d.App, Group: d.Group, Status: d.Status, Host: d.Host,
		Newest: true, After: q.Get("next"), Limit: deploymentsPerPage})
	status := http.StatusOK
	switch {
	case fault.CodeOf(err) == fault.Invalid || fault.CodeOf(err) == fault.NotFound && d.Host != "":
		d.Error, status = errText(err), http.StatusBadRequest
	case err != nil:
		return err
	}
	d.Deployments = list
	d.Sort = sortTable(r, "sort", "-created", d.Deployments, deploymentColumns)
	if next != "" {
		v := d.Sort.Keep(url.Values{"next": {next}})
		for k, s := range map[string]string{"app": d.App, "group": d.Group, "host": d.Host, "status": d.Status} {
			if s != "" {
				v.Set(k, s)
			}
		}
		d.Next = "/ui/deployments?" + v.Encode()
	}
	return m.render(w, status, "deployments", frame(r, id.Token.User, "Deployments", d))
}

// deploymentColumns and hostRowColumns are the sortable columns of the deployments list and of
// a deployment's hosts.
var (
	deploymentColumns = map[string]func(a, b pub.Deployment) int{
		"created": func(a, b pub.Deployment) int { return a.CreateTime.Compare(b.CreateTime) },
		"ended":   func(a, b pub.Deployment) int { return compareEnd(a.EndTime, b.EndTime) },
		"app":     func(a, b pub.Deployment) int { return strings.Compare(a.App, b.App) },
		"group":   func(a, b pub.Deployment) int { return strings.Compare(a.Group, b.Group) },
		"status":  func(a, b pub.Deployment) int { return strings.Compare(a.Status, b.Status) },
	}
	hostRowColumns = map[string]func(a, b hostRow) int{
		"host":   func(a, b hostRow) int { return strings.Compare(a.Host, b.Host) },
		"status": func(a, b hostRow) int { return strings.Compare(a.Status, b.Status) },
	}
)

// compareEnd orders end times, a deployment still running (nil) after every ended one.
func compareEnd(a, b *time.Time) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return a.Compare(*b)
}

// outputHosts bounds the hosts whose output a deployment's page shows (their rows are all
// shown): a bigger deployment's other hosts' output is read with slipway deploy logs.
const outputHosts = 100

// lifecycleOrder is the order of a host's lifecycle events in the page's columns; an event not
// listed (a hook of a newer agent) follows them in the order it was first seen.
var lifecycleOrder = []string{"ApplicationStop", "DownloadBundle", "BeforeInstall", "Install", "AfterInstall", "ApplicationStart", "ValidateService"}

// eventCell is one host's state of one lifecycle event: its scripts' last status and the time
// from the first's start to the last's end.
type eventCell struct {
	Name, Status, Duration, Message string
}

// hostRow is one host's part of a deployment on its page.
type hostRow struct {
	Host, Status, Message string
	Events                []eventCell // one per column
	Lines                 []pub.LogLine
	Next                  uint64 // the log sequence the lines reach (the watch resumes after it)
	Truncated             bool
	Output                bool // the page shows the host's output (the first outputHosts hosts')
}

// deploymentPageData is a deployment's page.
type deploymentPageData struct {
	D                    pub.Deployment
	Columns              []string
	Hosts                []hostRow
	Sort                 tableSort
	Succeeded, Total     int
	Finished             bool
	CanStop, CanRedeploy bool
	Error                string
	WatchAfter           string // the watch's query string: where the page's data ends
	MoreOutput           bool   // some hosts' output is left out (more than outputHosts hosts)
}

// duration says how long an event took ("" before it started, "running" until it ends).
func duration(ev pub.LifecycleEvent) string {
	switch {
	case ev.Start == nil:
		return ""
	case ev.End == nil:
		return "running"
	}
	return ev.End.Sub(*ev.Start).Round(time.Millisecond).String()
}

// eventCells folds a host's event records into one cell per column; the columns grow by any
// event not in lifecycleOrder.
func eventCells(events []pub.LifecycleEvent, columns *[]string) map[string]eventCell {
	cells := map[string]eventCell{}
	starts := map[string]*time.Time{}
	for _, ev := range events {
		known := false
		for _, c := range *columns {
			known = known || c == ev.Name
		}
		if !known {
			*columns = append(*columns, ev.Name)
		}
		if starts[ev.Name] == nil {
			starts[ev.Name] = ev.Start
		}
		span := ev
		span.Start = starts[ev.Name]
		cells[ev.Name] = eventCell{Name: ev.Name, Status: ev.Status, Duration: duration(span), Message: ev.Message}
	}
	return cells
}

// deploymentPage shows a deployment: its header and progress, a row per host with each
// lifecycle event's state and duration, and each host's script output, all rendered here (the
// page reads without JavaScript; assets/deployment.js keeps it live).
func (m *Module) deploymentPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.renderDeployment(w, r, id, http.StatusOK, "")
}

func (m *Module) renderDeployment(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, problem string) error {
	ctx, cancel := m.core.HTTP.WaitContext(r)
	defer cancel()
	d, logs, err := m.deploy.Deployments().WithLogs(ctx, r.PathValue("id"), outputHosts)
	if err != nil {
		return err
	}
	res := "app/" + d.App
	if d.Group != "" {
		res += "/group/" + d.Group
	}
	p := deploymentPageData{D: d, Total: len(d.Targets), Finished: d.EndTime != nil, Error: problem,
		Columns:     append([]string(nil), lifecycleOrder...),
		CanStop:     d.EndTime == nil && m.core.HTTP.Allowed(r, id, "codedeploy:StopDeployment", res),
		CanRedeploy: d.EndTime != nil && m.core.HTTP.Allowed(r, id, "codedeploy:CreateDeployment", res)}
	cells := make([]map[string]eventCell, len(d.Targets))
	watch := url.Values{"index": {strconv.FormatUint(d.ModifyIndex, 10)}}
	for i, tg := range d.Targets {
		cells[i] = eventCells(tg.Events, &p.Columns)
		if tg.Status == deploy.DeploymentSucceeded {
			p.Succeeded++
		}
		row := hostRow{Host: tg.Host, Status: tg.Status, Message: tg.Message, Truncated: tg.LogTruncated}
		if i < len(logs) {
			row.Lines, row.Next, row.Output = logs[i].Lines, logs[i].Next, true
			row.Truncated = row.Truncated || logs[i].Truncated
		}
		p.Hosts = append(p.Hosts, row)
		watch.Add("after", tg.Host+":"+strconv.FormatUint(row.Next, 10))
	}
	p.MoreOutput = len(d.Targets) > len(logs)
	for i := range p.Hosts {
		for _, c := range p.Columns {
			cell, ok := cells[i][c]
			if !ok {
				cell = eventCell{Name: c}
			}
			p.Hosts[i].Events = append(p.Hosts[i].Events, cell)
		}
	}
	p.WatchAfter = watch.Encode()
	p.Sort = sortTable(r, "sort", "host", p.Hosts, hostRowColumns)
	return m.render(w, status, "deployment", frame(r, id.Token.User, "Deployment "+d.ID, p))
}

// deploymentWatch serves the deployment's live stream (the same as /v1/deployments/{id}/watch)
// to the console's page, over its session cookie: only to a page of this console, whose Origin
// is the request's own host (a websocket is not covered by the same-origin policy, and the
// cookie is sent with it).
func (m *Module) deploymentWatch(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	o, err := url.Parse(r.Header.Get("Origin"))
	if err != nil || r.Header.Get("Origin") == "" || !strings.EqualFold(o.Host, r.Host) {
		return fault.New(fault.Forbidden, "the console's watch answers only pages of this console (the request's Origin is not %s)", r.Host)
	}
	return m.deploy.WatchHandler()(w, r, id)
}

// deploymentStop stops a deployment (rolling a group deployment back when the form's rollback
// box is ticked, as slipway deploy stop --rollback) and goes back to its page.
func (m *Module) deploymentStop(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	d, err := m.deploy.Deployments().Stop(ctx, r.PathValue("id"), r.PostFormValue("rollback") != "")
	if fault.CodeOf(err) == fault.Invalid || fault.CodeOf(err) == fault.Conflict {
		return m.renderDeployment(w, r, id, http.StatusConflict, errText(err))
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/deployments/"+url.PathEscape(d.ID), http.StatusSeeOther)
	return nil
}

// deploymentRedeploy deploys a finished deployment's revision again, to the same group (with
// its configuration) or hosts, as slipway deploy redeploy: how a bad release is rolled back
// from the page of the good one.
func (m *Module) deploymentRedeploy(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	old, err := m.deploy.Deployments().Get(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	req := pub.DeploymentCreateRequest{App: old.App, Revision: old.Revision, Group: old.Group}
	if old.Group != "" {
		req.Config = old.Config
	} else {
		for _, t := range old.Targets {
			req.Hosts = append(req.Hosts, t.Host)
		}
	}
	d, err := m.deploy.Deployments().Create(ctx, req)
	if err != nil {
		if c := fault.CodeOf(err); c == fault.Invalid || c == fault.Conflict || c == fault.NotFound {
			return m.renderDeployment(w, r, id, http.StatusConflict, errText(err))
		}
		return err
	}
	http.Redirect(w, r, "/ui/deployments/"+url.PathEscape(d.ID), http.StatusSeeOther)
	return nil
}

// deploymentForm is the create form's values and its errors, by field ("" for the form's).
type deploymentForm struct {
	App, Group, Revision, Config string
	Errors                       map[string]string
	Apps                         []pub.App
}

// deploymentNew shows the create form (?app= and ?group= fill it in).
func (m *Module) deploymentNew(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	q := r.URL.Query()
	f := deploymentForm{App: q.Get("app"), Group: q.Get("group"), Revision: "latest"}
	return m.renderForm(w, r, id, http.StatusOK, f)
}

func (m *Module) renderForm(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, f deploymentForm) error {
	if m.core.HTTP.Allowed(r, id, "codedeploy:ListApplications", "app/*") {
		apps, _, err := m.deploy.Apps().List(api.Page{Limit: 1000})
		if err != nil {
			return err
		}
		f.Apps = apps
	}
	return m.render(w, status, "deployment_new", frame(r, id.Token.User, "New deployment", f))
}

// deploymentCreate starts a deployment from the form. The edge allowed CreateDeployment on
// deployment/*; the group the form names must be allowed too, as the API's create is authorized
// on it: a user allowed only some groups cannot deploy to another (403, audited as denied).
func (m *Module) deploymentCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	f := deploymentForm{App: strings.TrimSpace(r.PostFormValue("app")), Group: strings.TrimSpace(r.PostFormValue("group")),
		Revision: strings.TrimSpace(r.PostFormValue("revision")), Config: strings.TrimSpace(r.PostFormValue("config")), Errors: map[string]string{}}
	if f.Revision == "" {
		f.Revision = "latest"
	}
	if f.App == "" {
		f.Errors["app"] = "Choose the application to deploy."
	}
	if f.Group == "" {
		f.Errors["group"] = "Name the deployment group to deploy to."
	}
	if len(f.Errors) > 0 {
		return m.renderForm(w, r, id, http.StatusBadRequest, f)
	}
	res := api.SRN("codedeploy:CreateDeployment", "app/"+f.App+"/group/"+f.Group)
	if !m.core.HTTP.Allowed(r, id, "codedeploy:CreateDeployment", res) {
		err := fault.New(fault.Forbidden, "not allowed: codedeploy:CreateDeployment on %s: ask an administrator for a policy that allows it", res)
		m.auditDenied(w, r, "codedeploy:CreateDeployment", res, err)
		return err
	}
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	d, err := m.deploy.Deployments().Create(ctx, pub.DeploymentCreateRequest{App: f.App, Group: f.Group, Revision: f.Revision, Config: f.Config})
	if err != nil {
		c := fault.CodeOf(err)
		if c != fault.Invalid && c != fault.NotFound && c != fault.Conflict {
			return err
		}
		msg := errText(err)
		switch low := strings.ToLower(msg); {
		case strings.Contains(low, "revision"):
			f.Errors["revision"] = msg
		case strings.Contains(low, "config"):
			f.Errors["config"] = msg
		case strings.Contains(low, "group"):
			f.Errors["group"] = msg
		case strings.Contains(low, "application") || strings.Contains(low, "app "):
			f.Errors["app"] = msg
		default:
			f.Errors[""] = msg
		}
		return m.renderForm(w, r, id, http.StatusBadRequest, f)
	}
	http.Redirect(w, r, "/ui/deployments/"+url.PathEscape(d.ID), http.StatusSeeOther)
	return nil
}

// auditDenied records a request a page refused by policy after the edge let it through (the
// edge records its own denials), as the edge records one.
func (m *Module) auditDenied(w http.ResponseWriter, r *http.Request, action, resource string, err error) {
	rec := audit.Record{Time: m.core.Now(), Action: action, Resource: resource, Source: api.SourceOf(r),
		RequestID: m.core.HTTP.RequestID(w), Outcome: audit.OutcomeDenied, ErrorCode: string(fault.CodeOf(err))}
	if c := command.CallerFrom(r.Context()); c != nil {
		rec.Principal = audit.Principal{Kind: audit.Kind(c.Kind), ID: c.ID, Name: c.Name}
	}
	m.core.HTTP.Audit(rec)
}
