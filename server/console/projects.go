package console

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/build"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
)

func init() { pageSets = append(pageSets, (*Module).projectsRoutes) }

// projectsPerPage is the length of a page of the projects list, and of a project's builds.
const projectsPerPage = 100

// projectsRoutes are the pages of build projects: the list, the create form, a project's page
// with its builds, and its edit, delete and start-build forms. Each has the action of the
// /v1/build-projects (or /v1/builds) route that does the same, on project/NAME (a create's
// name and a start's project are the form's and the path's).
func (m *Module) projectsRoutes() []api.Route {
	if m.builds == nil {
		return nil
	}
	rt := func(method, pattern, action string, h api.HandlerFunc) api.Route {
		res := "project/{name}"
		if !strings.Contains(pattern, "{name}") {
			res = "project/*"
		}
		return api.Route{Method: method, Pattern: pattern, Access: api.Console, Action: action, Resource: res, Handle: h}
	}
	create := rt("POST", "/ui/build-projects", "codebuild:CreateProject", m.projectCreate)
	create.ResolveResource = projectFormResource
	return []api.Route{
		rt("GET", "/ui/build-projects", "codebuild:ListProjects", m.projectsPage),
		rt("GET", "/ui/build-projects/new", "codebuild:CreateProject", m.projectNew),
		create,
		rt("GET", "/ui/build-projects/{name}", "codebuild:BatchGetProjects", m.projectPage),
		rt("POST", "/ui/build-projects/{name}", "codebuild:UpdateProject", m.projectUpdate),
		rt("POST", "/ui/build-projects/{name}/delete", "codebuild:DeleteProject", m.projectDelete),
		rt("POST", "/ui/build-projects/{name}/builds", "codebuild:StartBuild", m.projectStart),
	}
}

// projectFormResource names the project a create form names (project/* for a name that is not
// one: only a policy on every project reaches the handler, which refuses it).
func projectFormResource(r *http.Request) (string, error) {
	return projectResource(strings.TrimSpace(r.PostFormValue("name"))), nil
}

func projectResource(name string) string {
	if build.ValidateProjectName(name) != nil {
		return "project/*"
	}
	return "project/" + name
}

// projectURL is the console's address of a project's page.
func projectURL(name string) string { return "/ui/build-projects/" + url.PathEscape(name) }

// projectRow is a project in the list, with its newest build when the user may list its
// builds.
type projectRow struct {
	pub.BuildProject
	Href string
	Last *buildRow
}

// projectsData is the projects list's.
type projectsData struct {
	Projects  []projectRow
	Next      string
	CanCreate bool
}

// projectsPage lists the build projects in name order, a page at a time (?limit=, ?next= as the
// API pages), each with its newest build's status.
func (m *Module) projectsPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	pg, err := m.core.HTTP.Page(r)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("limit") == "" {
		pg.Limit = projectsPerPage
	}
	list, next, err := m.builds.Projects().List(r.Context(), pg)
	if err != nil {
		return err
	}
	d := projectsData{CanCreate: m.core.HTTP.Allowed(r, id, "codebuild:CreateProject", "project/*")}
	now := m.core.Now()
	for _, p := range list {
		row := projectRow{BuildProject: p, Href: projectURL(p.Name)}
		if m.core.HTTP.Allowed(r, id, "codebuild:ListBuildsForProject", "project/"+p.Name) {
			bs, _, err := m.builds.Builds().ListForProject(r.Context(), p.Name, api.Page{Limit: 1})
			if err != nil && fault.CodeOf(err) != fault.NotFound {
				return err
			}
			if len(bs) > 0 {
				last := buildRowOf(bs[0], now)
				row.Last = &last
			}
		}
		d.Projects = append(d.Projects, row)
	}
	if next != "" {
		v := url.Values{"next": {next}}
		if l := r.URL.Query().Get("limit"); l != "" {
			v.Set("limit", l)
		}
		d.Next = "/ui/build-projects?" + v.Encode()
	}
	return m.render(w, http.StatusOK, "build_projects", frame(r, id.Token.User, "Build projects", d))
}

// projectNew shows the create form.
func (m *Module) projectNew(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	f := projectForm{SourceType: pub.SourceSlipwayRepo, Buildspec: build.DefaultBuildspecPath, ArtifactsType: pub.ArtifactsNone, CacheType: pub.CacheNone,
		Repository: r.URL.Query().Get("repository")}
	f.choices()
	return m.renderProjectNew(w, r, id, http.StatusOK, f)
}

func (m *Module) renderProjectNew(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, f projectForm) error {
	f.Repos = m.repoNames(r, id)
	return m.render(w, status, "build_project_new", frame(r, id.Token.User, "New build project", f))
}

// repoNames are the repositories the user may list, for the form's datalist (at most 1,000:
// the field takes any name, the service says when it does not exist).
func (m *Module) repoNames(r *http.Request, id *auth.Identity) []string {
	if m.git == nil || !m.core.HTTP.Allowed(r, id, "codecommit:ListRepositories", "repo/*") {
		return nil
	}
	list, _, err := m.git.Repos().List(r.Context(), api.Page{Limit: 1000})
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(list))
	for _, rp := range list {
		out = append(out, rp.Name)
	}
	return out
}

// projectCreate creates a project from the form and goes to its page; a refusal (invalid,
// conflict, an unknown repository or role) shows the form again with the service's message.
func (m *Module) projectCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := parseForm(w, r, maxProjectForm); err != nil {
		return err
	}
	f := projectFormOf(r)
	req, err := f.createRequest()
	if err != nil {
		f.Error = err.Error()
		return m.renderProjectNew(w, r, id, http.StatusBadRequest, f)
	}
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	err = m.builds.AuthorizeSource(w, r, id, &req.Source)
	var p pub.BuildProject
	if err == nil {
		p, err = m.builds.Projects().Create(ctx, actorOf(id), req)
	}
	if refusal(err) {
		f.Error = errText(err)
		return m.renderProjectNew(w, r, id, statusOf(fault.CodeOf(err)), f)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, projectURL(p.Name), http.StatusSeeOther)
	return nil
}

// projectData is a project's page: its settings, a page of its builds and its forms.
type projectData struct {
	P                              pub.BuildProject
	Variables                      []variable
	Builds                         []buildRow
	BuildsDenied                   bool
	Next                           string
	CanStart, CanUpdate, CanDelete bool
	CanReadRepo                    bool
	Edit                           projectForm
	Start                          startForm
	EditOpen                       bool
	DeleteError                    string
	Labels                         []variable
}

// projectPage shows a project.
func (m *Module) projectPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.renderProject(w, r, id, http.StatusOK, nil, nil, "")
}

// renderProject renders a project's page; edit and start are refused forms to show again as
// typed (nil: the project's settings and an empty start form).
func (m *Module) renderProject(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, edit *projectForm, start *startForm, deleteError string) error {
	name := r.PathValue("name")
	p, err := m.builds.Projects().Get(r.Context(), name)
	if fault.CodeOf(err) == fault.NotFound { // created through another server a moment ago?
		ctx, cancel := m.core.HTTP.WaitContext(r)
		if rerr := m.core.Cluster.ConsistentRead(ctx); rerr == nil {
			p, err = m.builds.Projects().Get(r.Context(), name)
		}
		cancel()
	}
	if err != nil {
		return err
	}
	k := m.core.HTTP
	res := "project/" + p.Name
	d := projectData{P: p, DeleteError: deleteError,
		CanStart: k.Allowed(r, id, "codebuild:StartBuild", res), CanUpdate: k.Allowed(r, id, "codebuild:UpdateProject", res),
		CanDelete:   k.Allowed(r, id, "codebuild:DeleteProject", res),
		CanReadRepo: p.Source.Repository != "" && k.Allowed(r, id, "codecommit:GetRepository", "repo/"+p.Source.Repository)}
	for _, v := range p.Environment.Variables {
		d.Variables = append(d.Variables, variable{Name: v.Name, Value: v.Value, Type: v.Type})
	}
	for _, key := range slices.Sorted(maps.Keys(p.Environment.Labels)) {
		d.Labels = append(d.Labels, variable{Name: key, Value: p.Environment.Labels[key]})
	}
	if edit != nil {
		d.Edit, d.EditOpen = *edit, true
	} else {
		d.Edit = projectFormFrom(p)
	}
	d.Edit.Repos = m.repoNames(r, id)
	if start != nil {
		d.Start = *start
	}
	if d.BuildsDenied = !k.Allowed(r, id, "codebuild:ListBuildsForProject", res); !d.BuildsDenied {
		after := r.URL.Query().Get("next")
		list, next, err := m.builds.Builds().ListForProject(r.Context(), p.Name, api.Page{After: after, Limit: projectsPerPage})
		if err != nil {
			return err
		}
		now := m.core.Now()
		for _, b := range list {
			d.Builds = append(d.Builds, buildRowOf(b, now))
		}
		if next != "" {
			d.Next = projectURL(p.Name) + "?" + url.Values{"next": {next}}.Encode() + "#builds"
		}
	}
	return m.render(w, status, "build_project", frame(r, id.Token.User, "Build project "+p.Name, d))
}

// projectUpdate replaces the project's settings with the edit form's and goes back to its
// page; a refusal shows the form again, open, with the service's message.
func (m *Module) projectUpdate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := parseForm(w, r, maxProjectForm); err != nil {
		return err
	}
	f := projectFormOf(r)
	f.Name = r.PathValue("name")
	req, err := f.updateRequest()
	if err != nil {
		f.Error = err.Error()
		return m.renderProject(w, r, id, http.StatusBadRequest, &f, nil, "")
	}
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	err = m.builds.AuthorizeSource(w, r, id, req.Source)
	var p pub.BuildProject
	if err == nil {
		p, err = m.builds.Projects().Update(ctx, actorOf(id), f.Name, req)
	}
	if refusal(err) { // a project gone meanwhile is the page's 404

		f.Error = errText(err)
		return m.renderProject(w, r, id, statusOf(fault.CodeOf(err)), &f, nil, "")
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, projectURL(p.Name), http.StatusSeeOther)
	return nil
}

// projectDelete deletes the project and its builds' records and goes to the list; one with
// builds queued or running is refused on its page.
func (m *Module) projectDelete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	err = m.builds.Projects().Delete(ctx, r.PathValue("name"))
	if fault.CodeOf(err) == fault.Conflict {
		return m.renderProject(w, r, id, http.StatusConflict, nil, nil, errText(err))
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/build-projects", http.StatusSeeOther)
	return nil
}

// projectStart starts a build of the project with the form's source version and overrides and
// goes to the build's page; a refusal (an unknown version, a full queue, bad variables) shows
// the form again with the service's message.
func (m *Module) projectStart(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := parseForm(w, r, maxProjectForm); err != nil {
		return err
	}
	f := startFormOf(r)
	req, err := f.request(r.PathValue("name"))
	if err != nil {
		f.Error = err.Error()
		return m.renderProject(w, r, id, http.StatusBadRequest, nil, &f, "")
	}
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	b, err := m.builds.Builds().Start(ctx, actorOf(id), req)
	if refusal(err) { // a project gone meanwhile is the page's 404
		f.Error = errText(err)
		return m.renderProject(w, r, id, statusOf(fault.CodeOf(err)), nil, &f, "")
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, buildURL(b.ID), http.StatusSeeOther)
	return nil
}
