package review

import (
	"context"
	"net/http"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/git/gitproto"
)

// routes are the pull-request endpoints, authorized by CodeCommit's action names on the
// repository the pull request is in (repo/NAME, resolved from the pull request's number). Where
// CodeCommit has one action per field or strategy (the title and description, the merge
// strategies), each has its own route. Reads take any token; writes are Management routes,
// which a user's policies decide as well (only a client service token without policies is
// kept off them).
func (m *Module) routes() []api.Route {
	byID := m.resolveByID
	rts := []api.Route{
		{Method: "POST", Pattern: "/v1/pull-requests", Access: api.Management, Action: "codecommit:CreatePullRequest", Resource: "repo/*", Handle: m.create, ResolveResource: m.resolveCreate},
		{Method: "GET", Pattern: "/v1/pull-requests", Access: api.AnyToken, Action: "codecommit:ListPullRequests", Resource: "repo/*", Handle: m.list, ResolveResource: m.resolveList},
		{Method: "GET", Pattern: "/v1/pull-requests/{id}", Access: api.AnyToken, Action: "codecommit:GetPullRequest", Resource: "repo/*", Handle: m.get, ResolveResource: byID},
		{Method: "GET", Pattern: "/v1/pull-requests/{id}/diff", Access: api.AnyToken, Action: "codecommit:GetPullRequest", Resource: "repo/*", Handle: m.diff, ResolveResource: byID},
		{Method: "PUT", Pattern: "/v1/pull-requests/{id}/title", Access: api.Management, Action: "codecommit:UpdatePullRequestTitle", Resource: "repo/*", Handle: m.title, ResolveResource: byID},
		{Method: "PUT", Pattern: "/v1/pull-requests/{id}/description", Access: api.Management, Action: "codecommit:UpdatePullRequestDescription", Resource: "repo/*", Handle: m.description, ResolveResource: byID},
		{Method: "POST", Pattern: "/v1/pull-requests/{id}/status", Access: api.Management, Action: "codecommit:UpdatePullRequestStatus", Resource: "repo/*", Handle: m.status, ResolveResource: byID},
		{Method: "GET", Pattern: "/v1/pull-requests/{id}/comments", Access: api.AnyToken, Action: "codecommit:GetCommentsForPullRequest", Resource: "repo/*", Handle: m.comments, ResolveResource: byID},
		{Method: "POST", Pattern: "/v1/pull-requests/{id}/comments", Access: api.Management, Action: "codecommit:PostCommentForPullRequest", Resource: "repo/*", Handle: m.comment, ResolveResource: byID},
		{Method: "POST", Pattern: "/v1/pull-requests/{id}/comments/{comment}/replies", Access: api.Management, Action: "codecommit:PostCommentReply", Resource: "repo/*", Handle: m.reply, ResolveResource: byID},
		{Method: "PATCH", Pattern: "/v1/pull-requests/{id}/comments/{comment}", Access: api.Management, Action: "codecommit:UpdateComment", Resource: "repo/*", Handle: m.commentUpdate, ResolveResource: byID},
		{Method: "DELETE", Pattern: "/v1/pull-requests/{id}/comments/{comment}", Access: api.Management, Action: "codecommit:DeleteCommentContent", Resource: "repo/*", Handle: m.commentDelete, ResolveResource: byID},
		{Method: "POST", Pattern: "/v1/pull-requests/{id}/approval", Access: api.Management, Action: "codecommit:UpdatePullRequestApprovalState", Resource: "repo/*", Handle: m.approval, ResolveResource: byID},
		{Method: "POST", Pattern: "/v1/pull-requests/{id}/rules", Access: api.Management, Action: "codecommit:CreatePullRequestApprovalRule", Resource: "repo/*", Handle: m.ruleCreate, ResolveResource: byID},
		{Method: "DELETE", Pattern: "/v1/pull-requests/{id}/rules/{rule}", Access: api.Management, Action: "codecommit:DeletePullRequestApprovalRule", Resource: "repo/*", Handle: m.ruleDelete, ResolveResource: byID},
		{Method: "POST", Pattern: "/v1/pull-requests/{id}/override", Access: api.Management, Action: "codecommit:OverridePullRequestApprovalRules", Resource: "repo/*", Handle: m.override, ResolveResource: byID},
		{Method: "GET", Pattern: "/v1/pull-requests/{id}/evaluation", Access: api.AnyToken, Action: "codecommit:EvaluatePullRequestApprovalRules", Resource: "repo/*", Handle: m.evaluation, ResolveResource: byID},
	}
	for _, st := range []string{StrategyFastForward, StrategySquash, StrategyThreeWay} {
		rts = append(rts, api.Route{Method: "POST", Pattern: "/v1/pull-requests/{id}/merge/" + st, Access: api.Management, Action: mergeActions[st], Resource: "repo/*", Handle: m.merge(st), ResolveResource: byID})
	}
	return rts
}

// actor is the name a caller acts under: their user's, else their token's.
func actor(id *auth.Identity) string {
	if id.Token.User != "" {
		return id.Token.User
	}
	return id.Token.Name
}

// resolveByID names the repository of the pull request in the path. A number this server does
// not know is looked up again after a consistent read (it may have been created through another
// server a moment ago).
func (m *Module) resolveByID(r *http.Request) (string, error) {
	n, err := ParseID(r.PathValue("id"))
	if err != nil {
		return "repo/*", nil // the handler refuses the number; only a policy on every repository gets that far
	}
	p, err := m.Service().Record(n)
	if fault.CodeOf(err) == fault.NotFound {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if rerr := m.core.Cluster.ConsistentRead(ctx); rerr != nil {
			return "", fault.New(fault.Unavailable, "this server cannot read pull requests now: %v", rerr)
		}
		p, err = m.Service().Record(n)
	}
	if fault.CodeOf(err) == fault.NotFound {
		return "repo/*", nil // as above: the handler answers not found
	}
	if err != nil {
		return "", err
	}
	return "repo/" + p.Repo, nil
}

func (m *Module) resolveCreate(r *http.Request) (string, error) {
	var req pub.PullRequestCreateRequest
	if err := m.core.HTTP.PeekJSON(r, &req); err != nil {
		return "", err
	}
	if !validRepoName(req.Repository) {
		return "repo/*", nil // the handler refuses the name
	}
	return "repo/" + req.Repository, nil
}

func (m *Module) resolveList(r *http.Request) (string, error) {
	if name := r.URL.Query().Get("repository"); name != "" {
		return repoResource(name)
	}
	return "repo/*", nil
}

func validRepoName(name string) bool { return gitproto.ValidateRepoName(name) == nil }

func repoResource(name string) (string, error) {
	if err := gitproto.ValidateRepoName(name); err != nil {
		return "", fault.New(fault.Invalid, "%v", err)
	}
	return "repo/" + name, nil
}

func pathID(r *http.Request) (uint64, error) { return ParseID(r.PathValue("id")) }

func commentID(r *http.Request) (uint64, error) {
	n, err := ParseID(r.PathValue("comment"))
	if err != nil {
		return 0, fault.New(fault.Invalid, "comment ID %q is not a number from 1", r.PathValue("comment"))
	}
	return n, nil
}

func (m *Module) create(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusCreated, func(ctx context.Context, _ *http.Request, req pub.PullRequestCreateRequest) (pub.PullRequest, error) {
		return m.Service().Create(ctx, actor(id), req)
	})(w, r, id)
}

func (m *Module) list(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.List(m.core.HTTP, func(r *http.Request, p api.Page) ([]pub.PullRequest, string, error) {
		q := r.URL.Query()
		f := pub.PullRequestFilter{Repository: q.Get("repository"), Status: q.Get("status"), Author: q.Get("author"), Destination: q.Get("destination")}
		return m.Service().List(r.Context(), f, p)
	}, func(items []pub.PullRequest, next string) pub.PullRequestList {
		return pub.PullRequestList{PullRequests: items, Next: next}
	})(w, r, id)
}

// onePR is api.Get for a route on one pull request: the path's ID parsed first.
func onePR[T any](m *Module, read func(ctx context.Context, r *http.Request, n uint64) (T, error)) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
		return api.Get(m.core.HTTP, func(r *http.Request) (T, error) {
			n, err := pathID(r)
			if err != nil {
				var zero T
				return zero, err
			}
			return read(r.Context(), r, n)
		})(w, r, id)
	}
}

// changePR is api.Write for a route on one pull request: the path's ID parsed first, the
// caller's name (actor) handed on.
func changePR[Req, T any](m *Module, status int, write func(ctx context.Context, r *http.Request, n uint64, who string, req Req) (T, error)) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
		return api.Write(m.core.HTTP, status, func(ctx context.Context, r *http.Request, req Req) (T, error) {
			n, err := pathID(r)
			if err != nil {
				var zero T
				return zero, err
			}
			return write(ctx, r, n, actor(id), req)
		})(w, r, id)
	}
}

// removeOnPR is api.Remove for a route on one pull request.
func removeOnPR(m *Module, remove func(ctx context.Context, r *http.Request, n uint64, who string) error) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
		return api.Remove(m.core.HTTP, func(ctx context.Context, r *http.Request) error {
			n, err := pathID(r)
			if err != nil {
				return err
			}
			return remove(ctx, r, n, actor(id))
		})(w, r, id)
	}
}

func (m *Module) get(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return onePR(m, func(ctx context.Context, _ *http.Request, n uint64) (pub.PullRequest, error) {
		return m.Service().Get(ctx, n, true)
	})(w, r, id)
}

func (m *Module) diff(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return onePR(m, func(ctx context.Context, _ *http.Request, n uint64) (pub.PullRequestDiff, error) {
		return m.Service().Diff(ctx, n)
	})(w, r, id)
}

func (m *Module) title(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return changePR(m, http.StatusOK, func(ctx context.Context, _ *http.Request, n uint64, who string, req pub.PullRequestTitleRequest) (pub.PullRequest, error) {
		return m.Service().Update(ctx, n, who, pub.PullRequestUpdateRequest{Title: &req.Title})
	})(w, r, id)
}

func (m *Module) description(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return changePR(m, http.StatusOK, func(ctx context.Context, _ *http.Request, n uint64, who string, req pub.PullRequestDescriptionRequest) (pub.PullRequest, error) {
		return m.Service().Update(ctx, n, who, pub.PullRequestUpdateRequest{Description: &req.Description})
	})(w, r, id)
}

func (m *Module) status(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return changePR(m, http.StatusOK, func(ctx context.Context, _ *http.Request, n uint64, who string, req pub.PullRequestStatusRequest) (pub.PullRequest, error) {
		return m.Service().SetStatus(ctx, n, who, req.Status)
	})(w, r, id)
}

func (m *Module) comments(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return onePR(m, func(ctx context.Context, _ *http.Request, n uint64) (pub.PullRequestCommentList, error) {
		list, err := m.Service().Comments(ctx, n)
		return pub.PullRequestCommentList{Comments: list}, err
	})(w, r, id)
}

func (m *Module) comment(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return changePR(m, http.StatusCreated, func(ctx context.Context, _ *http.Request, n uint64, who string, req pub.PullRequestCommentRequest) (pub.PullRequestComment, error) {
		return m.Service().Comment(ctx, n, who, 0, req)
	})(w, r, id)
}

func (m *Module) reply(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return changePR(m, http.StatusCreated, func(ctx context.Context, r *http.Request, n uint64, who string, req pub.PullRequestCommentRequest) (pub.PullRequestComment, error) {
		c, err := commentID(r)
		if err != nil {
			return pub.PullRequestComment{}, err
		}
		return m.Service().Comment(ctx, n, who, c, req)
	})(w, r, id)
}

func (m *Module) commentUpdate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return changePR(m, http.StatusOK, func(ctx context.Context, r *http.Request, n uint64, who string, req pub.PullRequestCommentRequest) (pub.PullRequestComment, error) {
		c, err := commentID(r)
		if err != nil {
			return pub.PullRequestComment{}, err
		}
		return m.Service().UpdateComment(ctx, n, c, who, req.Body)
	})(w, r, id)
}

func (m *Module) commentDelete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return removeOnPR(m, func(ctx context.Context, r *http.Request, n uint64, who string) error {
		c, err := commentID(r)
		if err != nil {
			return err
		}
		return m.Service().DeleteComment(ctx, n, c, who)
	})(w, r, id)
}

func (m *Module) approval(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return changePR(m, http.StatusOK, func(ctx context.Context, _ *http.Request, n uint64, who string, req pub.PullRequestApprovalRequest) (pub.PullRequest, error) {
		return m.Service().Approve(ctx, n, who, req)
	})(w, r, id)
}

// mergeActions are CodeCommit's action of each merge strategy.
var mergeActions = map[string]string{
	StrategyFastForward: "codecommit:MergePullRequestByFastForward",
	StrategySquash:      "codecommit:MergePullRequestBySquash",
	StrategyThreeWay:    "codecommit:MergePullRequestByThreeWay",
}

// merge merges with strategy (its route's action is the strategy's).
func (m *Module) merge(strategy string) api.HandlerFunc {
	return changePR(m, http.StatusOK, func(ctx context.Context, _ *http.Request, n uint64, who string, req pub.PullRequestMergeRequest) (pub.PullRequest, error) {
		if req.Strategy != "" && req.Strategy != strategy {
			return pub.PullRequest{}, fault.New(fault.Invalid, "the body asks for strategy %s, the path for %s: give one", req.Strategy, strategy)
		}
		req.Strategy = strategy
		return m.Service().Merge(ctx, n, who, req)
	})
}

func (m *Module) ruleCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return changePR(m, http.StatusOK, func(ctx context.Context, _ *http.Request, n uint64, who string, req pub.PullRequestRule) (pub.PullRequest, error) {
		return m.Service().AddRule(ctx, n, who, req)
	})(w, r, id)
}

func (m *Module) override(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return changePR(m, http.StatusOK, func(ctx context.Context, _ *http.Request, n uint64, who string, req pub.PullRequestOverrideRequest) (pub.PullRequest, error) {
		return m.Service().Override(ctx, n, who, req.Override)
	})(w, r, id)
}

func (m *Module) ruleDelete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return removeOnPR(m, func(ctx context.Context, r *http.Request, n uint64, who string) error {
		return m.Service().DeleteRule(ctx, n, who, r.PathValue("rule"))
	})(w, r, id)
}

func (m *Module) evaluation(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return onePR(m, func(ctx context.Context, _ *http.Request, n uint64) (pub.PullRequestEvaluation, error) {
		return m.Service().Evaluate(ctx, n)
	})(w, r, id)
}
