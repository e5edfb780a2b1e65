package git

import (
	"context"
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// routes are the repository endpoints, authorized by CodeCommit's action names on the resource
// repo/{name}.
func (m *Module) routes() []api.Route {
	return []api.Route{
		{Method: "POST", Pattern: "/v1/repos", Access: api.Management, Action: "codecommit:CreateRepository", Resource: "repo/*", Handle: m.create},
		{Method: "GET", Pattern: "/v1/repos", Access: api.AnyToken, Action: "codecommit:ListRepositories", Resource: "repo/*", Handle: m.list},
		{Method: "GET", Pattern: "/v1/repos/{name}", Access: api.AnyToken, Action: "codecommit:GetRepository", Resource: "repo/{name}", Handle: m.get},
		{Method: "PATCH", Pattern: "/v1/repos/{name}", Access: api.Management, Action: "codecommit:UpdateRepository", Resource: "repo/{name}", Handle: m.update},
		{Method: "DELETE", Pattern: "/v1/repos/{name}", Access: api.Management, Action: "codecommit:DeleteRepository", Resource: "repo/{name}", Handle: m.delete},
	}
}

func (m *Module) create(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusCreated, func(ctx context.Context, r *http.Request, req pub.RepositoryCreateRequest) (pub.Repository, error) {
		repo, err := m.Repos().Create(ctx, req)
		return withURLs(r, repo), err
	})(w, r, id)
}

func (m *Module) list(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.List(m.core.HTTP, func(r *http.Request, p api.Page) ([]pub.Repository, string, error) {
		list, next, err := m.Repos().List(r.Context(), p)
		for i := range list {
			list[i] = withURLs(r, list[i])
		}
		return list, next, err
	}, func(items []pub.Repository, next string) pub.RepositoryList {
		return pub.RepositoryList{Repositories: items, Next: next}
	})(w, r, id)
}

func (m *Module) get(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(r *http.Request) (pub.Repository, error) {
		repo, err := m.Repos().Get(r.Context(), r.PathValue("name"))
		return withURLs(r, repo), err
	})(w, r, id)
}

func (m *Module) update(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusOK, func(ctx context.Context, r *http.Request, req pub.RepositoryUpdateRequest) (pub.Repository, error) {
		repo, err := m.Repos().Update(ctx, r.PathValue("name"), req)
		return withURLs(r, repo), err
	})(w, r, id)
}

// delete requires ?confirm= to repeat the name: deleting a repository loses its history.
func (m *Module) delete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Remove(m.core.HTTP, func(ctx context.Context, r *http.Request) error {
		name := r.PathValue("name")
		if r.URL.Query().Get("confirm") != name {
			return fault.New(fault.Invalid, "deleting repository %s loses its history: confirm it with ?confirm= set to the repository's name", state.Shorten(name))
		}
		return m.Repos().Delete(ctx, name)
	})(w, r, id)
}

// WithCloneURLs is repo with its clone URLs for the address r came to, as the API answers it
// (the console shows them).
func WithCloneURLs(r *http.Request, repo pub.Repository) pub.Repository { return withURLs(r, repo) }

// withURLs fills in the clone URLs for the address the request came to. SSH is not served yet.
func withURLs(r *http.Request, repo pub.Repository) pub.Repository {
	if repo.Name == "" {
		return repo
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	repo.CloneURLHTTP = scheme + "://" + r.Host + "/git/" + repo.Name + ".git"
	return repo
}
