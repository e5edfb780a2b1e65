package console

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
)

func init() { pageSets = append(pageSets, (*Module).appsRoutes) }

// maxRevisionsShown bounds the revisions an application's page lists (the newest ones).
const maxRevisionsShown = 100

// appsRoutes are the pages of applications, revisions and deployment groups, each authorized by
// the API action that answers the same question. A revision's resource is its application's, as
// the API resolves it, so a policy on app/NAME covers that app's revisions here too.
func (m *Module) appsRoutes() []api.Route {
	return []api.Route{
		{Method: "GET", Pattern: "/ui/apps", Access: api.Console, Action: "codedeploy:ListApplications", Resource: "app/*", Handle: m.appsPage},
		{Method: "POST", Pattern: "/ui/apps", Access: api.Console, Action: "codedeploy:CreateApplication", Resource: "app/*", Handle: m.appCreate},
		{Method: "GET", Pattern: "/ui/apps/{name}", Access: api.Console, Action: "codedeploy:GetApplication", Resource: "app/{name}", Handle: m.appPage},
		{Method: "GET", Pattern: "/ui/apps/{app}/groups/{name}", Access: api.Console, Action: "codedeploy:GetDeploymentGroup", Resource: "app/{app}/group/{name}", Handle: m.groupPage},
		{Method: "GET", Pattern: "/ui/revisions/{id}", Access: api.Console, Action: "codedeploy:GetApplicationRevision", Resource: "revision/{id}", Handle: m.revisionPage, ResolveResource: m.revisionResource},
		{Method: "GET", Pattern: "/ui/revisions/{id}/content", Access: api.Console, Action: "codedeploy:GetApplicationRevisionContent", Resource: "revision/{id}", Handle: m.revisionContent, ResolveResource: m.revisionResource},
	}
}

// appRow is one application in the list, with its groups' names.
type appRow struct {
	pub.App
	Groups []string
}

// appsData is the applications page's: a page of applications, the create form (shown when
// allowed) with what was typed and the error of a failed create, and the next page's link.
type appsData struct {
	Apps                 []appRow
	Sort                 tableSort
	GroupsDenied         bool
	CanCreate            bool
	Name, Description    string
	NameError, FormError string
	Next                 string
}

// appsPage lists the applications a page at a time (?limit=, default 100, and ?next=, as the
// API pages).
func (m *Module) appsPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	d := appsData{CanCreate: m.core.HTTP.Allowed(r, id, "codedeploy:CreateApplication", "app/*")}
	return m.renderApps(w, r, id, http.StatusOK, d)
}

// renderApps fills the list into d and renders the applications page.
func (m *Module) renderApps(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, d appsData) error {
	pg, err := m.core.HTTP.Page(r)
	if err != nil {
		return err
	}
	apps, next, err := m.deploy.Apps().List(pg)
	if err != nil {
		return err
	}
	d.GroupsDenied = !m.core.HTTP.Allowed(r, id, "codedeploy:ListDeploymentGroups", "app/*/group/*")
	for _, a := range apps {
		row := appRow{App: a}
		if !d.GroupsDenied {
			groups, err := m.deploy.Groups().List(a.Name)
			if err != nil && fault.CodeOf(err) != fault.NotFound { // deleted meanwhile: no groups
				return err
			}
			for _, g := range groups {
				row.Groups = append(row.Groups, g.Name)
			}
		}
		d.Apps = append(d.Apps, row)
	}
	d.Sort = sortTable(r, "sort", "name", d.Apps, appColumns)
	if next != "" {
		nq := d.Sort.Keep(url.Values{"next": {next}})
		if l := r.URL.Query().Get("limit"); l != "" {
			nq.Set("limit", l)
		}
		d.Next = "/ui/apps?" + nq.Encode()
	}
	return m.render(w, status, "apps", frame(r, id.Token.User, "Applications", d))
}

// appCreate creates an application from the form and goes to its page; a refused create
// re-renders the list with the error next to the field it is about.
func (m *Module) appCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return fault.New(fault.Invalid, "the form could not be read: %v", err)
	}
	d := appsData{CanCreate: true, Name: r.PostFormValue("name"), Description: r.PostFormValue("description")}
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	a, err := m.deploy.Apps().Create(ctx, pub.AppCreateRequest{Name: d.Name, Description: d.Description})
	switch code := fault.CodeOf(err); {
	case err == nil:
		http.Redirect(w, r, "/ui/apps/"+url.PathEscape(a.Name), http.StatusSeeOther)
		return nil
	case code == fault.Invalid || code == fault.Conflict:
		if d.Name == "" || code != fault.Invalid {
			d.NameError = errText(err)
		} else {
			d.FormError = errText(err)
		}
		status := http.StatusBadRequest
		if code != fault.Invalid {
			status = http.StatusConflict
		}
		return m.renderApps(w, r, id, status, d)
	default:
		return err
	}
}

// appData is one application's page: each part shown only when the user may read it.
type appData struct {
	App                           pub.App
	Revisions                     []pub.Revision
	RevisionsTotal                int
	RevisionsDenied, GroupsDenied bool
	Groups                        []pub.Group
	GroupSort, RevisionSort       tableSort
}

// appColumns, groupColumns, revisionColumns and memberColumns are the sortable columns of the
// applications, an application's groups and revisions, and a group's members.
var (
	appColumns = map[string]func(a, b appRow) int{
		"name":    func(a, b appRow) int { return strings.Compare(a.Name, b.Name) },
		"created": func(a, b appRow) int { return cmp.Compare(a.CreateIndex, b.CreateIndex) },
	}
	groupColumns = map[string]func(a, b pub.Group) int{
		"name":    func(a, b pub.Group) int { return strings.Compare(a.Name, b.Name) },
		"config":  func(a, b pub.Group) int { return strings.Compare(a.Config, b.Config) },
		"members": func(a, b pub.Group) int { return cmp.Compare(len(a.Members), len(b.Members)) },
	}
	revisionColumns = map[string]func(a, b pub.Revision) int{
		"pushed": func(a, b pub.Revision) int { return cmp.Compare(a.CreateIndex, b.CreateIndex) },
		"size":   func(a, b pub.Revision) int { return cmp.Compare(a.Size, b.Size) },
		"format": func(a, b pub.Revision) int { return strings.Compare(a.Format, b.Format) },
	}
	memberColumns = map[string]func(a, b groupMemberRow) int{
		"host":     func(a, b groupMemberRow) int { return strings.Compare(a.Host, b.Host) },
		"status":   func(a, b groupMemberRow) int { return strings.Compare(a.Status, b.Status) },
		"health":   func(a, b groupMemberRow) int { return strings.Compare(a.Health, b.Health) },
		"revision": func(a, b groupMemberRow) int { return strings.Compare(a.Revision, b.Revision) },
	}
)

// appPage shows an application, its revisions (newest first, at most maxRevisionsShown) and its
// deployment groups.
func (m *Module) appPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	name := r.PathValue("name")
	a, err := m.deploy.Apps().Get(name)
	if err != nil {
		return err
	}
	d := appData{App: a}
	if d.RevisionsDenied = !m.core.HTTP.Allowed(r, id, "codedeploy:ListApplicationRevisions", "app/"+name); !d.RevisionsDenied {
		revs, err := m.deploy.Revisions().List(name)
		if err != nil {
			return err
		}
		d.RevisionsTotal = len(revs)
		slices.Reverse(revs)
		d.Revisions = revs[:min(len(revs), maxRevisionsShown)]
	}
	d.RevisionSort = sortTable(r, "rsort", "-pushed", d.Revisions, revisionColumns)
	if d.GroupsDenied = !m.core.HTTP.Allowed(r, id, "codedeploy:ListDeploymentGroups", "app/"+name+"/group/*"); !d.GroupsDenied {
		if d.Groups, err = m.deploy.Groups().List(name); err != nil {
			return err
		}
	}
	d.GroupSort = sortTable(r, "sort", "name", d.Groups, groupColumns)
	return m.render(w, http.StatusOK, "app", frame(r, id.Token.User, "Application "+a.Name, d))
}

// groupMemberRow is a group's member with the host's status (online/offline).
type groupMemberRow struct {
	pub.GroupMember
	Status string
}

// groupData is a deployment group's page.
type groupData struct {
	Group       pub.Group
	Tags        []tagPair
	Members     []groupMemberRow
	Sort        tableSort
	HostsDenied bool
}

// groupPage shows a deployment group: its filter, configuration and members (the hosts it
// selects) with their deployment health, current revision and, when the user may read hosts,
// whether they are online.
func (m *Module) groupPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	g, err := m.deploy.Groups().Get(r.PathValue("app"), r.PathValue("name"))
	if err != nil {
		return err
	}
	d := groupData{Group: g, Tags: sortedTags(g.Tags)}
	status := map[string]string{}
	if d.HostsDenied = !m.core.HTTP.Allowed(r, id, "hosts:ListHosts", "host/*"); !d.HostsDenied {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		l, err := m.core.HTTP.Hosts().List(ctx)
		if err != nil {
			return err
		}
		for _, h := range l.Hosts {
			status[h.Name] = h.Status
		}
	}
	for _, mb := range g.Members {
		d.Members = append(d.Members, groupMemberRow{GroupMember: mb, Status: status[mb.Host]})
	}
	d.Sort = sortTable(r, "sort", "host", d.Members, memberColumns)
	return m.render(w, http.StatusOK, "group", frame(r, id.Token.User, "Group "+g.App+"/"+g.Name, d))
}
