package build

import (
	"context"
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// routes are the build service's endpoints, authorized by CodeBuild's action names on the
// project (project/NAME): a build's resource is its project's, which its ID names
// (PROJECT:UUID). Reads take any token; writes are Management routes, which a user's policies
// decide as well.
func (m *Module) routes() []api.Route {
	return []api.Route{
		{Method: "POST", Pattern: "/v1/build-projects", Access: api.Management, Action: "codebuild:CreateProject", Resource: "project/*", Handle: m.projectCreate, ResolveResource: m.resolveCreate},
		{Method: "GET", Pattern: "/v1/build-projects", Access: api.AnyToken, Action: "codebuild:ListProjects", Resource: "project/*", Handle: m.projectList},
		{Method: "GET", Pattern: "/v1/build-projects/{name}", Access: api.AnyToken, Action: "codebuild:BatchGetProjects", Resource: "project/{name}", Handle: m.projectGet},
		{Method: "PATCH", Pattern: "/v1/build-projects/{name}", Access: api.Management, Action: "codebuild:UpdateProject", Resource: "project/{name}", Handle: m.projectUpdate},
		{Method: "DELETE", Pattern: "/v1/build-projects/{name}", Access: api.Management, Action: "codebuild:DeleteProject", Resource: "project/{name}", Handle: m.projectDelete},
		{Method: "GET", Pattern: "/v1/build-projects/{name}/builds", Access: api.AnyToken, Action: "codebuild:ListBuildsForProject", Resource: "project/{name}", Handle: m.buildListForProject},
		{Method: "POST", Pattern: "/v1/builds", Access: api.Management, Action: "codebuild:StartBuild", Resource: "project/*", Handle: m.buildStart, ResolveResource: m.resolveStart},
		{Method: "GET", Pattern: "/v1/builds", Access: api.AnyToken, Action: "codebuild:ListBuilds", Resource: "project/*", Handle: m.buildList},
		{Method: "GET", Pattern: "/v1/builds/{id}", Access: api.AnyToken, Action: "codebuild:BatchGetBuilds", Resource: "project/*", Handle: m.buildGet, ResolveResource: resolveBuild},
		{Method: "POST", Pattern: "/v1/builds/{id}/stop", Access: api.Management, Action: "codebuild:StopBuild", Resource: "project/*", Handle: m.buildStop, ResolveResource: resolveBuild},
	}
}

// actor is the name a caller acts under: their user's, else their token's.
func actor(id *auth.Identity) string {
	if id.Token.User != "" {
		return id.Token.User
	}
	return id.Token.Name
}

// resolveCreate and resolveStart name the project a create or a start is about, from the body.
// A malformed name resolves to project/* (only a policy on every project gets as far as the
// handler, which refuses it).
func (m *Module) resolveCreate(r *http.Request) (string, error) {
	var req pub.ProjectCreateRequest
	if err := m.core.HTTP.PeekJSON(r, &req); err != nil {
		return "", err
	}
	return projectResource(req.Name), nil
}

func (m *Module) resolveStart(r *http.Request) (string, error) {
	var req pub.BuildStartRequest
	if err := m.core.HTTP.PeekJSON(r, &req); err != nil {
		return "", err
	}
	return projectResource(req.Project), nil
}

func projectResource(name string) string {
	if ValidateProjectName(name) != nil {
		return "project/*"
	}
	return "project/" + name
}

// resolveBuild names the project of the build in the path: its ID starts with it.
func resolveBuild(r *http.Request) (string, error) {
	if project, _, err := SplitID(r.PathValue("id")); err == nil {
		return "project/" + project, nil
	}
	return "project/*", nil // as resolveCreate
}

func (m *Module) projectCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusCreated, func(ctx context.Context, r *http.Request, req pub.ProjectCreateRequest) (pub.BuildProject, error) {
		if err := m.AuthorizeSource(w, r, id, &req.Source); err != nil {
			return pub.BuildProject{}, err
		}
		return m.Projects().Create(ctx, actor(id), req)
	})(w, r, id)
}

// ActionGitPull is the git service's read action, which a project's source needs (the build
// service names it rather than import the git service).
const ActionGitPull = "codecommit:GitPull"

// AuthorizeSource checks that the caller who sets a project's source (nil: not set) may read
// its repository (codecommit:GitPull on repo/NAME): builds read the source on the project's
// behalf and show it in their logs and artifacts, so a project must not be a way to read a
// repository its author cannot. Every path that creates or changes a project calls it (the API
// and the console).
func (m *Module) AuthorizeSource(w http.ResponseWriter, r *http.Request, id *auth.Identity, src *pub.ProjectSource) error {
	if src == nil || src.Type != pub.SourceSlipwayRepo || src.Repository == "" {
		return nil
	}
	if err := m.core.HTTP.Authorize(w, r, id, ActionGitPull, "repo/"+src.Repository); err != nil {
		return fault.New(fault.Forbidden, "a project's builds read its repository: you may not read repository %s (%s); ask for that permission on it, or name a repository you can read",
			state.Shorten(src.Repository), ActionGitPull)
	}
	return nil
}

func (m *Module) projectList(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.List(m.core.HTTP, func(r *http.Request, p api.Page) ([]pub.BuildProject, string, error) {
		return m.Projects().List(r.Context(), p)
	}, func(items []pub.BuildProject, next string) pub.ProjectList {
		return pub.ProjectList{Projects: items, Next: next}
	})(w, r, id)
}

func (m *Module) projectGet(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(r *http.Request) (pub.BuildProject, error) {
		return m.Projects().Get(r.Context(), r.PathValue("name"))
	})(w, r, id)
}

func (m *Module) projectUpdate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusOK, func(ctx context.Context, r *http.Request, req pub.ProjectUpdateRequest) (pub.BuildProject, error) {
		if err := m.AuthorizeSource(w, r, id, req.Source); err != nil {
			return pub.BuildProject{}, err
		}
		return m.Projects().Update(ctx, actor(id), r.PathValue("name"), req)
	})(w, r, id)
}

func (m *Module) projectDelete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Remove(m.core.HTTP, func(ctx context.Context, r *http.Request) error {
		return m.Projects().Delete(ctx, r.PathValue("name"))
	})(w, r, id)
}

func (m *Module) buildStart(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusCreated, func(ctx context.Context, _ *http.Request, req pub.BuildStartRequest) (pub.Build, error) {
		return m.Builds().Start(ctx, actor(id), req)
	})(w, r, id)
}

func (m *Module) buildList(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.List(m.core.HTTP, func(r *http.Request, p api.Page) ([]pub.Build, string, error) {
		return m.Builds().List(r.Context(), p)
	}, buildList)(w, r, id)
}

func (m *Module) buildListForProject(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.List(m.core.HTTP, func(r *http.Request, p api.Page) ([]pub.Build, string, error) {
		return m.Builds().ListForProject(r.Context(), r.PathValue("name"), p)
	}, buildList)(w, r, id)
}

func buildList(items []pub.Build, next string) pub.BuildList {
	return pub.BuildList{Builds: items, Next: next}
}

func (m *Module) buildGet(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(r *http.Request) (pub.Build, error) {
		return m.Builds().Get(r.Context(), r.PathValue("id"))
	})(w, r, id)
}

func (m *Module) buildStop(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	b, err := m.Builds().Stop(ctx, actor(id), r.PathValue("id"))
	if err != nil {
		return err
	}
	m.core.HTTP.JSON(w, http.StatusOK, b)
	return nil
}
