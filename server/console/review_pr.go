package console

import (
	"net/http"
	"strconv"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/review"
)

// prFrame is what every page of a pull request shows above its own part: the pull request
// (with its commits and diff stat), the tab, and what the user may do on it.
type prFrame struct {
	PR   pub.PullRequest
	Tab  string // "", "commits" or "files"
	User string // the signed-in user's name as the service records it
	// What the user's policies allow on the pull request's repository.
	CanReadComments, CanComment, CanReply, CanEditComment, CanDeleteComment bool
	CanApprove, CanStatus, CanTitle, CanDescription                         bool
	Error                                                                   string // a refusal of the service, with what to do
	Body                                                                    string // the comment text a refused post kept
}

// Open is whether the pull request is open.
func (f prFrame) Open() bool { return f.PR.Status == review.StatusOpen }

// prThread is a comment with its replies, in the order they were posted, and where it is.
type prThread struct {
	Root    prComment
	Replies []prComment
	Ctx     *threadCtx
}

// threadCtx is what a thread's forms need from its page: the session's CSRF token, the pull
// request, the page to come back to ("files" or ""), and what the user may do.
type threadCtx struct {
	CSRF, PR, Back, Files        string
	CanReply, CanEdit, CanDelete bool
	Revision                     int // the current revision's number
}

// Place is where a line comment is, "path:line" (and "(destination)" for one on the merge
// base's side); "" for a comment on the whole pull request.
func (t prThread) Place() string {
	c := t.Root
	if c.Path == "" {
		return ""
	}
	p := c.Path + ":" + strconv.Itoa(c.Line)
	if c.Side == review.SideDestination {
		p += " (destination)"
	}
	return p
}

// prComment is a comment as a page shows it: Mine when the signed-in user wrote it (and it is
// not deleted), so its edit and delete forms are shown.
type prComment struct {
	pub.PullRequestComment
	Mine bool
	Ctx  *threadCtx
}

// Edited says the comment was changed after it was posted.
func (c prComment) Edited() bool { return c.ModifyTime.After(c.CreateTime) && !c.Deleted }

// prCtx reads the pull request of the path with its commits and diff stat, and what the user
// may do on it.
func (m *Module) prCtx(r *http.Request, id *auth.Identity, tab string) (prFrame, error) {
	n, err := review.ParseID(r.PathValue("id"))
	if err != nil {
		return prFrame{}, err
	}
	if err := m.core.HTTP.ReadBarrier(r); err != nil {
		return prFrame{}, err
	}
	ctx, cancel := m.core.HTTP.ReadContext(r)
	defer cancel()
	p, err := m.review.Service().Get(ctx, n, true)
	if err != nil {
		return prFrame{}, err
	}
	res := "repo/" + p.Repository
	allowed := func(action string) bool { return m.core.HTTP.Allowed(r, id, action, res) }
	return prFrame{PR: p, Tab: tab, User: actorOf(id),
		CanReadComments: allowed("codecommit:GetCommentsForPullRequest"), CanComment: allowed("codecommit:PostCommentForPullRequest"),
		CanReply: allowed("codecommit:PostCommentReply"), CanEditComment: allowed("codecommit:UpdateComment"),
		CanDeleteComment: allowed("codecommit:DeleteCommentContent"), CanApprove: allowed("codecommit:UpdatePullRequestApprovalState"),
		CanStatus: allowed("codecommit:UpdatePullRequestStatus"), CanTitle: allowed("codecommit:UpdatePullRequestTitle"),
		CanDescription: allowed("codecommit:UpdatePullRequestDescription"),
	}, nil
}

// threads reads the pull request's comments (when the user may) and folds each reply under the
// comment its thread starts with.
func (m *Module) threads(r *http.Request, f prFrame, back string) ([]prThread, error) {
	if !f.CanReadComments {
		return nil, nil
	}
	list, err := m.review.Service().Comments(r.Context(), prNumber(f.PR.ID))
	if err != nil {
		return nil, err
	}
	tc := &threadCtx{CSRF: api.ConsoleCSRF(api.ConsoleSecret(r)), PR: f.PR.ID, Back: back, Files: prURL(f.PR.ID, "files"),
		CanReply: f.CanReply, CanEdit: f.CanEditComment, CanDelete: f.CanDeleteComment, Revision: f.PR.Revision.Number}
	var out []prThread
	at := map[string]int{}      // a thread's root comment → its index in out
	root := map[string]string{} // a comment → its thread's root
	for _, c := range list {
		pc := prComment{PullRequestComment: c, Mine: c.Author == f.User && !c.Deleted, Ctx: tc}
		if c.InReplyTo == "" {
			at[c.ID], root[c.ID] = len(out), c.ID
			out = append(out, prThread{Root: pc, Ctx: tc})
			continue
		}
		top, ok := root[c.InReplyTo]
		if !ok { // a reply whose parent is not listed: shown as a thread of its own
			at[c.ID], root[c.ID] = len(out), c.ID
			out = append(out, prThread{Root: pc, Ctx: tc})
			continue
		}
		root[c.ID] = top
		out[at[top]].Replies = append(out[at[top]].Replies, pc)
	}
	return out, nil
}

// prData is a pull request's conversation page.
type prData struct {
	prFrame
	Threads    []prThread
	Strategies []mergeStrategy // the ones the user may merge with
	Approved   bool            // the user approved the current revision
	Rules      []prRule
}

// prPage shows a pull request: its description, branches at the current revision,
// mergeability, the approval rules and which hold, the approvals (stale ones marked), the
// timeline, the comments with their replies, and the forms the user's policies allow.
func (m *Module) prPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.renderPR(w, r, id, http.StatusOK, "", "")
}

// renderPR draws the conversation page, with refused the refusal of a form (and body the
// comment text it kept) when it re-renders one.
func (m *Module) renderPR(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, refused, body string) error {
	f, err := m.prCtx(r, id, "")
	if err != nil {
		return err
	}
	f.Error, f.Body = refused, body
	d := prData{prFrame: f}
	if d.Threads, err = m.threads(r, f, ""); err != nil {
		return err
	}
	for _, st := range mergeStrategies {
		if m.core.HTTP.Allowed(r, id, st.Action, "repo/"+f.PR.Repository) {
			d.Strategies = append(d.Strategies, st)
		}
	}
	for _, rule := range f.PR.Rules {
		d.Rules = append(d.Rules, prRule{PullRequestRuleState: rule, From: originLabel(rule.Origin)})
	}
	for _, a := range f.PR.Approvals {
		if a.User == f.User && !a.Stale {
			d.Approved = true
		}
	}
	return m.render(w, status, "pr", frame(r, id.Token.User, "#"+f.PR.ID+" "+f.PR.Title, d))
}

// prCommitsPage lists the commits of the current revision, from the merge base to the source.
func (m *Module) prCommitsPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	f, err := m.prCtx(r, id, "commits")
	if err != nil {
		return err
	}
	return m.render(w, http.StatusOK, "pr_commits", frame(r, id.Token.User, "Commits of #"+f.PR.ID, f))
}

// MergeState is the current revision's mergeability: "mergeable", "conflicts" or "unknown"
// (the background check has not run yet).
func (f prFrame) MergeState() string {
	switch mg := f.PR.Revision.Mergeable; {
	case mg == nil:
		return "unknown"
	case *mg:
		return "mergeable"
	}
	return "conflicts"
}

// prRule is an approval rule as the page lists it, with where it comes from in words.
type prRule struct {
	pub.PullRequestRuleState
	From string
}

// originLabel names where a rule comes from.
func originLabel(origin string) string {
	switch origin {
	case pub.RuleOriginTemplate:
		return "approval rule template"
	case pub.RuleOriginCodeOwners:
		return "CODEOWNERS"
	}
	return "pull request"
}
