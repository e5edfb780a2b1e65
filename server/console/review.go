package console

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/git/gitproto"
	"github.com/slipwayhq/slipway/server/review"
)

func init() { pageSets = append(pageSets, (*Module).reviewRoutes) }

// maxReviewForm bounds a pull request form's body: a description or comment at the review
// service's limits, form-encoded, fits.
const maxReviewForm = 512 << 10

// reviewRoutes are the pull-request pages, each authorized by the action of the
// /v1/pull-requests route that does the same (server/review/http.go) on the pull request's
// repository, repo/NAME, resolved from its number as the API resolves it. A merge has a route
// per strategy, as each strategy is its own action.
func (m *Module) reviewRoutes() []api.Route {
	onPR := func(method, pattern, action string, h api.HandlerFunc) api.Route {
		return api.Route{Method: method, Pattern: pattern, Access: api.Console, Action: action, Resource: "repo/*", Handle: h, ResolveResource: m.resolvePR}
	}
	rts := []api.Route{
		{Method: "GET", Pattern: "/ui/pulls", Access: api.Console, Action: "codecommit:ListPullRequests", Resource: "repo/*", Handle: m.pullsPage, ResolveResource: resolvePullsList},
		{Method: "GET", Pattern: "/ui/repos/{name}/pulls/new", Access: api.Console, Action: "codecommit:CreatePullRequest", Resource: "repo/{name}", Handle: m.prNewPage},
		{Method: "POST", Pattern: "/ui/repos/{name}/pulls", Access: api.Console, Action: "codecommit:CreatePullRequest", Resource: "repo/{name}", Handle: m.prCreate},
		onPR("GET", "/ui/pulls/{id}", "codecommit:GetPullRequest", m.prPage),
		onPR("GET", "/ui/pulls/{id}/commits", "codecommit:GetPullRequest", m.prCommitsPage),
		onPR("GET", "/ui/pulls/{id}/files", "codecommit:GetPullRequest", m.prFilesPage),
		onPR("POST", "/ui/pulls/{id}/title", "codecommit:UpdatePullRequestTitle", m.prTitle),
		onPR("POST", "/ui/pulls/{id}/description", "codecommit:UpdatePullRequestDescription", m.prDescription),
		onPR("POST", "/ui/pulls/{id}/status", "codecommit:UpdatePullRequestStatus", m.prStatus),
		onPR("POST", "/ui/pulls/{id}/comments", "codecommit:PostCommentForPullRequest", m.prComment),
		onPR("POST", "/ui/pulls/{id}/comments/{comment}/replies", "codecommit:PostCommentReply", m.prReply),
		onPR("POST", "/ui/pulls/{id}/comments/{comment}/edit", "codecommit:UpdateComment", m.prCommentEdit),
		onPR("POST", "/ui/pulls/{id}/comments/{comment}/delete", "codecommit:DeleteCommentContent", m.prCommentDelete),
		onPR("POST", "/ui/pulls/{id}/approval", "codecommit:UpdatePullRequestApprovalState", m.prApproval),
	}
	for _, st := range mergeStrategies {
		rts = append(rts, onPR("POST", "/ui/pulls/{id}/merge/"+st.Name, st.Action, m.prMerge(st.Name)))
	}
	return rts
}

// mergeStrategy is a merge strategy as the merge form offers it, with the action that
// authorizes it (the API's, server/review/http.go).
type mergeStrategy struct{ Name, Label, Action string }

var mergeStrategies = []mergeStrategy{
	{review.StrategySquash, "Squash and merge", "codecommit:MergePullRequestBySquash"},
	{review.StrategyThreeWay, "Merge commit (three-way)", "codecommit:MergePullRequestByThreeWay"},
	{review.StrategyFastForward, "Fast-forward", "codecommit:MergePullRequestByFastForward"},
}

// resolvePR names the repository of the pull request in the path, as the API's routes do: a
// number this server does not know yet is looked up again after a consistent read; one that
// is still unknown (or not a number) resolves to repo/*, so only a policy on every repository
// reaches the handler's "not found".
func (m *Module) resolvePR(r *http.Request) (string, error) {
	n, err := review.ParseID(r.PathValue("id"))
	if err != nil {
		return "repo/*", nil
	}
	svc := m.review.Service()
	p, err := svc.Record(n)
	if fault.CodeOf(err) == fault.NotFound {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if rerr := m.core.Cluster.ConsistentRead(ctx); rerr != nil {
			return "", fault.New(fault.Unavailable, "this server cannot read pull requests now: %v", rerr)
		}
		p, err = svc.Record(n)
	}
	switch {
	case fault.CodeOf(err) == fault.NotFound:
		return "repo/*", nil
	case err != nil:
		return "", err
	}
	return "repo/" + p.Repo, nil
}

// resolvePullsList is the list's resource: the repository its filter names, else every one.
func resolvePullsList(r *http.Request) (string, error) {
	name := r.URL.Query().Get("repository")
	if name == "" {
		return "repo/*", nil
	}
	if err := gitproto.ValidateRepoName(name); err != nil {
		return "", fault.New(fault.Invalid, "%v", err)
	}
	return "repo/" + name, nil
}

// prURL is a pull request's page (kind "", "commits" or "files").
func prURL(id, kind string) string {
	u := "/ui/pulls/" + url.PathEscape(id)
	if kind != "" {
		u += "/" + kind
	}
	return u
}

// prRow is a row of the list: the pull request and, for an open one, whether its rules hold.
type prRow struct {
	pub.PullRequest
	Evaluated bool
}

// pullsData is the list page's: the filter as given, a page of rows, sorted, and the next
// page's link.
type pullsData struct {
	Status, Repository, Author, Destination string
	Rows                                    []prRow
	Sort                                    tableSort
	Next                                    string
	NewIn                                   string // the repository filtered on, when the user may open a pull request in it
}

var prColumns = map[string]func(a, b prRow) int{
	"number":  func(a, b prRow) int { return cmp.Compare(prNumber(a.ID), prNumber(b.ID)) },
	"title":   func(a, b prRow) int { return strings.Compare(strings.ToLower(a.Title), strings.ToLower(b.Title)) },
	"repo":    func(a, b prRow) int { return strings.Compare(a.Repository, b.Repository) },
	"author":  func(a, b prRow) int { return strings.Compare(a.Author, b.Author) },
	"status":  func(a, b prRow) int { return strings.Compare(a.Status, b.Status) },
	"updated": func(a, b prRow) int { return a.ModifyTime.Compare(b.ModifyTime) },
}

func prNumber(id string) uint64 {
	n, _ := strconv.ParseUint(id, 10, 64)
	return n
}

// pullsPage lists pull requests filtered by ?status= (open by default; "all" for every one),
// ?repository=, ?author= and ?destination=, a page at a time (?limit=, ?next= as the API
// pages), with whether each open one's approval rules hold (read from the same state, a
// lookup per row).
func (m *Module) pullsPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	q := r.URL.Query()
	d := pullsData{Status: q.Get("status"), Repository: q.Get("repository"), Author: q.Get("author"), Destination: q.Get("destination")}
	if _, given := q["status"]; !given {
		d.Status = review.StatusOpen
	}
	f := pub.PullRequestFilter{Repository: d.Repository, Status: d.Status, Author: d.Author, Destination: d.Destination}
	if f.Status == "all" {
		f.Status = ""
	}
	pg, err := m.core.HTTP.Page(r)
	if err != nil {
		return err
	}
	if err := m.core.HTTP.ReadBarrier(r); err != nil {
		return err
	}
	svc := m.review.Service()
	list, next, err := svc.List(r.Context(), f, pg)
	if err != nil {
		return err
	}
	for _, p := range list {
		row := prRow{PullRequest: p}
		if p.Status == review.StatusOpen {
			if ev, err := svc.Evaluate(r.Context(), prNumber(p.ID)); err == nil {
				row.Approved, row.OverriddenBy, row.Evaluated = ev.Approved, ev.OverriddenBy, true
			}
		}
		d.Rows = append(d.Rows, row)
	}
	d.Sort = sortTable(r, "sort", "number", d.Rows, prColumns)
	if next != "" {
		nq := url.Values{"next": {next}}
		for _, k := range []string{"status", "repository", "author", "destination", "limit"} {
			if v := q.Get(k); v != "" {
				nq.Set(k, v)
			}
		}
		d.Next = "/ui/pulls?" + d.Sort.Keep(nq).Encode()
	}
	if d.Repository != "" && m.core.HTTP.Allowed(r, id, "codecommit:CreatePullRequest", "repo/"+d.Repository) {
		d.NewIn = d.Repository
	}
	return m.render(w, http.StatusOK, "pulls", frame(r, id.Token.User, "Pull requests", d))
}

// prNewData is the form that opens a pull request.
type prNewData struct {
	repoFrame
	Source, Destination, Title, Description string
}

// prNewPage shows the form: the source and destination among the repository's branches
// (?source= and ?destination= preselect them; the destination defaults to the default branch).
func (m *Module) prNewPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	q := r.URL.Query()
	return m.renderPRNew(w, r, id, http.StatusOK, prNewData{Source: q.Get("source"), Destination: q.Get("destination")})
}

func (m *Module) renderPRNew(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, d prNewData) error {
	_, cancel, _, f, err := m.repoCtx(r, id, "")
	if err != nil {
		return err
	}
	defer cancel()
	f.SwitchKind, f.Error = "", d.Error
	if d.Destination == "" {
		d.Destination = f.Repo.DefaultBranch
	}
	d.repoFrame = f
	return m.render(w, status, "pr_new", frame(r, id.Token.User, "New pull request in "+f.Repo.Name, d))
}

// prCreate opens the pull request the form describes and goes to its page; a refusal the user
// can act on (a branch that does not exist, the same branch twice, a title too long, the
// repository's bound) re-renders the form with the message and what was typed.
func (m *Module) prCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := parseForm(w, r, maxReviewForm); err != nil {
		return err
	}
	d := prNewData{Source: r.PostFormValue("source"), Destination: r.PostFormValue("destination"),
		Title: r.PostFormValue("title"), Description: crlfToLF(r.PostFormValue("description"))}
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	p, err := m.review.Service().Create(ctx, actorOf(id), pub.PullRequestCreateRequest{
		Repository: r.PathValue("name"), Source: d.Source, Destination: d.Destination, Title: d.Title, Description: d.Description})
	if err != nil {
		if !refusal(err) {
			return err
		}
		d.Error = errText(err)
		return m.renderPRNew(w, r, id, statusOf(fault.CodeOf(err)), d)
	}
	http.Redirect(w, r, prURL(p.ID, ""), http.StatusSeeOther)
	return nil
}

// actorOf is the name the review service records a console user's actions under.
func actorOf(id *auth.Identity) string {
	if id.Token.User != "" {
		return id.Token.User
	}
	return id.Token.Name
}

// refusal says whether err is the service's refusal of what the user asked (shown in the page,
// with what to do), not a failure of the server.
func refusal(err error) bool {
	switch fault.CodeOf(err) {
	case fault.Invalid, fault.Conflict, fault.NotFound, fault.Forbidden, fault.TooLarge:
		return true
	}
	return false
}

// crlfToLF turns a textarea's CRLF line ends into git's LF.
func crlfToLF(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }
