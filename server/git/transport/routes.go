package transport

import (
	"net/http"

	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/git/gitproto"
)

// Actions of the git routes (CodeCommit's).
const (
	ActionGitPull = "codecommit:GitPull"
	ActionGitPush = "codecommit:GitPush"
)

// Routes are the smart-HTTP routes, for the API to serve. They authenticate by HTTP basic
// (api.GitBasic). Reads, and both ref advertisements, need codecommit:GitPull on repo/NAME;
// a push is authorized by its handler, ref by ref (codecommit:GitPush with
// slipway:ReferenceName), once it has read which refs the push moves.
func (s *Server) Routes() []api.Route {
	return []api.Route{
		{Method: http.MethodGet, Pattern: "/git/{repo}/info/refs", Access: api.GitBasic,
			Action: ActionGitPull, Resource: "repo/{repo}", ResolveResource: repoResource,
			Handle: s.advertise, RenderError: renderError},
		{Method: http.MethodPost, Pattern: "/git/{repo}/git-upload-pack", Access: api.GitBasic,
			Action: ActionGitPull, Resource: "repo/{repo}", ResolveResource: repoResource,
			Handle: s.uploadPack, RenderError: renderError},
		{Method: http.MethodPost, Pattern: "/git/{repo}/git-receive-pack", Access: api.GitBasic,
			Action: ActionGitPush, Resource: "repo/{repo}", ResolveResource: repoResource,
			HandlerAuthorizes: true, Handle: s.receivePack, RenderError: renderError},
	}
}

// parseRoute reads the request's smart-HTTP route (gitproto.ParseHTTPPath: NAME.git or NAME).
func parseRoute(r *http.Request) (gitproto.Route, error) {
	rt, err := gitproto.ParseHTTPPath(r.Method, r.URL.EscapedPath(), r.URL.RawQuery)
	if err != nil {
		return rt, fault.New(fault.Invalid, "%v", err)
	}
	return rt, nil
}

// repoResource names a git request's resource: repo/NAME, without ".git".
func repoResource(r *http.Request) (string, error) {
	rt, err := parseRoute(r)
	if err != nil {
		return "", err
	}
	return "repo/" + rt.Repo, nil
}

// renderError answers a git route's error as text/plain: git shows such a body to the user
// ("remote: ...") when the ref advertisement fails, where it would not show JSON.
func renderError(w http.ResponseWriter, _ *http.Request, status int, err error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(err.Error() + "\n"))
}
