package deploy

import (
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
)

// revisionRoutes are the revisions' endpoints.
func (m *Module) revisionRoutes() []api.Route {
	return []api.Route{
		{Method: "POST", Pattern: "/v1/apps/{app}/revisions", Access: api.Management, Action: "codedeploy:RegisterApplicationRevision", Resource: "app/{app}", Handle: httpHandlers{m}.revisionPush},
		{Method: "GET", Pattern: "/v1/apps/{app}/revisions", Access: api.AnyToken, Action: "codedeploy:ListApplicationRevisions", Resource: "app/{app}", Handle: httpHandlers{m}.revisionList},
		// {id} is a revision's ID, a unique prefix of it, or latest with ?app= (Revisions.Resolve).
		{Method: "GET", Pattern: "/v1/revisions/{id}", Access: api.AnyToken, Action: "codedeploy:GetApplicationRevision", Resource: "revision/{id}", Handle: httpHandlers{m}.revisionGet, ResolveResource: httpHandlers{m}.resolveRevision},
		{Method: "GET", Pattern: "/v1/revisions/{id}/content", Access: api.AnyToken, Action: "codedeploy:GetApplicationRevisionContent", Resource: "revision/{id}", Handle: httpHandlers{m}.revisionContent, ResolveResource: httpHandlers{m}.resolveRevision},
	}
}

// revisionPush streams a bundle into the blob store and records a revision: 201 with the new
// revision, or 200 with the app's existing one of the same content. The body is the archive
// itself.
func (m httpHandlers) revisionPush(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	app := r.PathValue("app")
	rctx, cancel := m.core.HTTP.ReadContext(r)
	err := m.Apps().Exists(rctx, app)
	cancel()
	if err != nil {
		return err
	}
	up, err := m.Revisions().Upload(r.Context(), Bundle{Body: r.Body, Size: r.ContentLength,
		SHA256: r.Header.Get(pub.HeaderSHA256), Description: r.URL.Query().Get("description")})
	if err != nil {
		return err
	}
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	rev, created, err := m.Revisions().Create(ctx, app, up)
	if err != nil {
		return err
	}
	status := http.StatusOK // the app already had this content
	if created {
		status = http.StatusCreated
	}
	m.core.HTTP.JSON(w, status, rev)
	return nil
}

func (m httpHandlers) revisionList(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(r *http.Request) (pub.RevisionList, error) {
		revs, err := m.Revisions().List(r.PathValue("app"))
		if revs == nil {
			revs = []pub.Revision{}
		}
		return pub.RevisionList{Revisions: revs}, err
	})(w, r, id)
}

func (m httpHandlers) revisionGet(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(r *http.Request) (pub.Revision, error) {
		ctx, cancel := m.core.HTTP.ReadContext(r)
		defer cancel()
		return m.Revisions().Resolve(ctx, r.URL.Query().Get("app"), r.PathValue("id"))
	})(w, r, id)
}

// revisionContent serves a revision's bundle with Range support, fetching it from a peer first
// if this server does not hold it yet.
func (m httpHandlers) revisionContent(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	ctx, cancel := m.core.HTTP.ReadContext(r)
	rev, err := m.Revisions().Resolve(ctx, r.URL.Query().Get("app"), r.PathValue("id"))
	cancel()
	if err != nil {
		return err
	}
	return m.core.HTTP.ServeBlob(w, r, rev.SHA256, rev.ID+"."+rev.Format)
}
