package git

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

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
		{Method: "GET", Pattern: "/v1/repos/{name}/refs", Access: api.AnyToken, Action: "codecommit:GetRepository", Resource: "repo/{name}", Handle: m.refs},
		{Method: "PATCH", Pattern: "/v1/repos/{name}", Access: api.Management, Action: "codecommit:UpdateRepository", Resource: "repo/{name}", Handle: m.update},
		{Method: "DELETE", Pattern: "/v1/repos/{name}", Access: api.Management, Action: "codecommit:DeleteRepository", Resource: "repo/{name}", Handle: m.delete},
	}
}

func (m *Module) create(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusCreated, func(ctx context.Context, r *http.Request, req pub.RepositoryCreateRequest) (pub.Repository, error) {
		repo, err := m.Repos().Create(ctx, req)
		return m.withURLs(r, repo), err
	})(w, r, id)
}

func (m *Module) list(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.List(m.core.HTTP, func(r *http.Request, p api.Page) ([]pub.Repository, string, error) {
		list, next, err := m.Repos().List(r.Context(), p)
		for i := range list {
			list[i] = m.withURLs(r, list[i])
		}
		return list, next, err
	}, func(items []pub.Repository, next string) pub.RepositoryList {
		return pub.RepositoryList{Repositories: items, Next: next}
	})(w, r, id)
}

func (m *Module) get(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(r *http.Request) (pub.Repository, error) {
		repo, err := m.Repos().Get(r.Context(), r.PathValue("name"))
		return m.withURLs(r, repo), err
	})(w, r, id)
}

// refs answers the repository's refs as the replicated state holds them (the truth every copy
// converges to), not as this server's copy has them: at most MaxRefsPerRepo.
func (m *Module) refs(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(r *http.Request) (pub.RepositoryRefs, error) {
		refs, err := m.Repos().Refs(r.Context(), r.PathValue("name"))
		if refs == nil {
			refs = map[string]string{}
		}
		return pub.RepositoryRefs{Refs: refs}, err
	})(w, r, id)
}

func (m *Module) update(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusOK, func(ctx context.Context, r *http.Request, req pub.RepositoryUpdateRequest) (pub.Repository, error) {
		repo, err := m.Repos().Update(ctx, r.PathValue("name"), req)
		return m.withURLs(r, repo), err
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
func (m *Module) WithCloneURLs(r *http.Request, repo pub.Repository) pub.Repository {
	return m.withURLs(r, repo)
}

// withURLs fills in the clone URLs for the address the request came to: HTTP on the API's, SSH
// on its host and this server's SSH port (none while it serves no SSH).
func (m *Module) withURLs(r *http.Request, repo pub.Repository) pub.Repository {
	if repo.Name == "" {
		return repo
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	repo.CloneURLHTTP = scheme + "://" + r.Host + "/git/" + repo.Name + ".git"
	if port := m.SSHPort(); port > 0 {
		repo.CloneURLSSH = "ssh://git@" + net.JoinHostPort(requestHost(r), strconv.Itoa(port)) + "/" + repo.Name + ".git"
	}
	return repo
}

// requestHost is the host part of the request's Host (without its port or IPv6 brackets).
func requestHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		return h
	}
	return strings.Trim(r.Host, "[]")
}

// sshRoutes serve the cluster's SSH host key, for clients to pin. It is public: every SSH
// client is shown it before authenticating.
func (m *Module) sshRoutes() []api.Route {
	return []api.Route{{Method: "GET", Pattern: "/v1/git/ssh-host-key", Access: api.Public, Handle: m.sshHostKey}}
}

func (m *Module) sshHostKey(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	signer, err := m.HostKey()
	if err != nil {
		return fault.New(fault.Unavailable, "%v", err)
	}
	pk := signer.PublicKey()
	k := pub.GitSSHHostKey{
		PublicKey:   strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))),
		Fingerprint: ssh.FingerprintSHA256(pk), Port: m.SSHPort(),
	}
	if k.Port > 0 {
		k.KnownHosts = knownhosts.Normalize(net.JoinHostPort(requestHost(r), strconv.Itoa(k.Port))) + " " + k.PublicKey
	}
	m.core.HTTP.JSON(w, http.StatusOK, k)
	return nil
}
