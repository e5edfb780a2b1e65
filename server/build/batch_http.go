package build

import (
	"context"
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
)

// batchRoutes are the batch builds' endpoints, authorized as CodeBuild's batch actions on the
// project (a batch's ID, PROJECT:UUID, names it). GET /v1/build-batches?project=NAME lists one
// project's batches under ListBuildBatches on project/* (as /v1/build-projects/NAME/build-batches
// does under ListBuildBatchesForProject on project/NAME).
func (m *Module) batchRoutes() []api.Route {
	return []api.Route{
		{Method: "POST", Pattern: "/v1/build-batches", Access: api.Management, Action: "codebuild:StartBuildBatch", Resource: "project/*", Handle: m.batchStart, ResolveResource: m.resolveBatchStart},
		{Method: "GET", Pattern: "/v1/build-batches", Access: api.AnyToken, Action: "codebuild:ListBuildBatches", Resource: "project/*", Handle: m.batchList},
		{Method: "GET", Pattern: "/v1/build-batches/{id}", Access: api.AnyToken, Action: "codebuild:BatchGetBuildBatches", Resource: "project/*", Handle: m.batchGet, ResolveResource: resolveBuild},
		{Method: "POST", Pattern: "/v1/build-batches/{id}/stop", Access: api.Management, Action: "codebuild:StopBuildBatch", Resource: "project/*", Handle: m.batchStop, ResolveResource: resolveBuild},
		{Method: "GET", Pattern: "/v1/build-projects/{name}/build-batches", Access: api.AnyToken, Action: "codebuild:ListBuildBatchesForProject", Resource: "project/{name}", Handle: m.batchListForProject},
	}
}

func (m *Module) resolveBatchStart(r *http.Request) (string, error) {
	var req pub.BuildBatchStartRequest
	if err := m.core.HTTP.PeekJSON(r, &req); err != nil {
		return "", err
	}
	return projectResource(req.Project), nil
}

func (m *Module) batchStart(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusCreated, func(ctx context.Context, _ *http.Request, req pub.BuildBatchStartRequest) (pub.BuildBatch, error) {
		return m.Batches().Start(ctx, actor(id), req)
	})(w, r, id)
}

func batchList(items []pub.BuildBatch, next string) pub.BuildBatchList {
	return pub.BuildBatchList{Batches: items, Next: next}
}

func (m *Module) batchList(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.List(m.core.HTTP, func(r *http.Request, p api.Page) ([]pub.BuildBatch, string, error) {
		if project := r.URL.Query().Get("project"); project != "" { // a filter of what project/* allows
			return m.Batches().ListForProject(r.Context(), project, p)
		}
		return m.Batches().List(r.Context(), p)
	}, batchList)(w, r, id)
}

func (m *Module) batchListForProject(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.List(m.core.HTTP, func(r *http.Request, p api.Page) ([]pub.BuildBatch, string, error) {
		return m.Batches().ListForProject(r.Context(), r.PathValue("name"), p)
	}, batchList)(w, r, id)
}

func (m *Module) batchGet(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(r *http.Request) (pub.BuildBatch, error) {
		return m.Batches().Get(r.Context(), r.PathValue("id"))
	})(w, r, id)
}

func (m *Module) batchStop(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	b, err := m.Batches().Stop(ctx, actor(id), r.PathValue("id"))
	if err != nil {
		return err
	}
	m.core.HTTP.JSON(w, http.StatusOK, b)
	return nil
}
