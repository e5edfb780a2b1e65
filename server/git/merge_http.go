package git

import (
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
)

// mergeRoutes are CodeCommit's MergeBranchesBy* as one route per strategy, write routes
// (Management access: allowed by policy, never to a client token by its level alone; the edge decides
// the strategy's action on repo/{name}; then the destination is authorized as a push to it,
// AuthorizeBranch), and the mergeability check (codecommit:GetMergeConflicts).
func (m *Module) mergeRoutes() []api.Route {
	route := func(s MergeStrategy, action string) api.Route {
		return api.Route{Method: "POST", Pattern: "/v1/repos/{name}/merges/" + string(s), Access: api.Management, Action: action, Resource: "repo/{name}", Handle: m.mergeHandler(s)}
	}
	return []api.Route{
		route(MergeFastForward, "codecommit:MergeBranchesByFastForward"),
		route(MergeSquash, "codecommit:MergeBranchesBySquash"),
		route(MergeThreeWay, "codecommit:MergeBranchesByThreeWay"),
		{Method: "POST", Pattern: "/v1/repos/{name}/mergeability", Access: api.AnyToken, Action: "codecommit:GetMergeConflicts", Resource: "repo/{name}", Handle: m.mergeability},
	}
}

func mergeRequest(name string, in pub.RepoMergeRequest, s MergeStrategy) MergeRequest {
	return MergeRequest{Repo: name, Source: in.Source, Destination: in.Destination, SourceCommit: in.SourceCommit,
		DestinationCommit: in.DestinationCommit, Strategy: s, Message: in.Message}
}

func (m *Module) mergeHandler(s MergeStrategy) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
		var in pub.RepoMergeRequest
		if err := m.core.HTTP.Decode(w, r, &in); err != nil {
			return err
		}
		name := r.PathValue("name")
		if err := m.AuthorizeBranch(w, r, id, name, in.Destination); err != nil {
			return err
		}
		ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
		if err != nil {
			return err
		}
		defer cancel()
		req := mergeRequest(name, in, s)
		req.Author = m.AuthorOf(id)
		out, err := m.Merge(ctx, req)
		if err != nil {
			return err
		}
		m.core.HTTP.JSON(w, http.StatusCreated, pub.RepoMergeResult{Commit: out.Commit, Mergeable: true})
		return nil
	}
}

func (m *Module) mergeability(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	var in pub.RepoMergeRequest
	if err := m.core.HTTP.Decode(w, r, &in); err != nil {
		return err
	}
	ctx, cancel := m.core.HTTP.ReadContext(r)
	defer cancel()
	out, err := m.Mergeable(ctx, mergeRequest(r.PathValue("name"), in, MergeStrategy(in.Strategy)))
	if err != nil {
		return err
	}
	m.core.HTTP.JSON(w, http.StatusOK, pub.RepoMergeResult{Mergeable: len(out.Conflicts) == 0, Conflicts: out.Conflicts})
	return nil
}
