package console

import (
	"context"
	"net/http"
	"strconv"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/review"
)

// The pull request's forms. Each POSTs with the session's csrf, calls the review service as
// the signed-in user and answers 303 to the page it came from (the conversation, or the files
// page when the form says back=files), at the changed thing's anchor. A refusal of the service
// (rules not met, a conflict, a source that moved, someone else's comment) re-renders that page
// with the service's message, which says what to do, and the comment text typed.

// prChange reads a pull request form and runs change as the signed-in user in a write
// context; it answers 303 to the page the form came from at the anchor change names, or
// re-renders that page with the refusal.
func (m *Module) prChange(w http.ResponseWriter, r *http.Request, id *auth.Identity, change func(ctx context.Context, n uint64, who string) (anchor string, err error)) error {
	if err := parseForm(w, r, maxReviewForm); err != nil {
		return err
	}
	n, err := review.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	anchor, err := change(ctx, n, actorOf(id))
	cancel()
	back := prURL(r.PathValue("id"), "")
	files := r.PostFormValue("back") == "files"
	if files {
		back = prURL(r.PathValue("id"), "files")
	}
	switch {
	case err == nil:
		if anchor != "" {
			back += "#" + anchor
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
		return nil
	case !refusal(err):
		return err
	case files:
		return m.renderPRFiles(w, r, id, statusOf(fault.CodeOf(err)), errText(err), crlfToLF(r.PostFormValue("body")))
	default:
		return m.renderPR(w, r, id, statusOf(fault.CodeOf(err)), errText(err), crlfToLF(r.PostFormValue("body")))
	}
}

func commentAnchor(c pub.PullRequestComment) string { return "c" + c.ID }

// prComment posts a comment on the pull request, or, with path, side and line, on a line of a
// file at the revision whose source commit the page showed (commit).
func (m *Module) prComment(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.prChange(w, r, id, func(ctx context.Context, n uint64, who string) (string, error) {
		req := pub.PullRequestCommentRequest{Body: crlfToLF(r.PostFormValue("body")), Path: r.PostFormValue("path"),
			Side: r.PostFormValue("side"), Commit: r.PostFormValue("commit")}
		if l := r.PostFormValue("line"); l != "" {
			var err error
			if req.Line, err = strconv.Atoi(l); err != nil || req.Line < 1 {
				req.Line = -1 // the service refuses it, naming what a line comment needs
			}
		}
		c, err := m.review.Service().Comment(ctx, n, who, 0, req)
		return commentAnchor(c), err
	})
}

// prReply answers a comment: the reply takes its place.
func (m *Module) prReply(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.prChange(w, r, id, func(ctx context.Context, n uint64, who string) (string, error) {
		parent, err := review.ParseID(r.PathValue("comment"))
		if err != nil {
			return "", err
		}
		c, err := m.review.Service().Comment(ctx, n, who, parent, pub.PullRequestCommentRequest{Body: crlfToLF(r.PostFormValue("body"))})
		return commentAnchor(c), err
	})
}

// prCommentEdit changes the text of one's own comment (the service refuses another's).
func (m *Module) prCommentEdit(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.prChange(w, r, id, func(ctx context.Context, n uint64, who string) (string, error) {
		cn, err := review.ParseID(r.PathValue("comment"))
		if err != nil {
			return "", err
		}
		c, err := m.review.Service().UpdateComment(ctx, n, cn, who, crlfToLF(r.PostFormValue("body")))
		return commentAnchor(c), err
	})
}

// prCommentDelete removes the content of one's own comment (the service refuses another's);
// its place and replies stay.
func (m *Module) prCommentDelete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.prChange(w, r, id, func(ctx context.Context, n uint64, who string) (string, error) {
		cn, err := review.ParseID(r.PathValue("comment"))
		if err != nil {
			return "", err
		}
		return "c" + strconv.FormatUint(cn, 10), m.review.Service().DeleteComment(ctx, n, cn, who)
	})
}

// prApproval approves (state APPROVE) or revokes (REVOKE) the user's approval of the revision
// the page showed: one that is no longer current is refused.
func (m *Module) prApproval(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.prChange(w, r, id, func(ctx context.Context, n uint64, who string) (string, error) {
		rev, _ := strconv.Atoi(r.PostFormValue("revision"))
		_, err := m.review.Service().Approve(ctx, n, who, pub.PullRequestApprovalRequest{State: r.PostFormValue("state"), Revision: max(rev, 0)})
		return "approvals", err
	})
}

// prMerge merges with strategy (each its own route and action), the source commit the page
// showed (a source that moved since is refused) and the form's message.
func (m *Module) prMerge(strategy string) func(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return func(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
		return m.prChange(w, r, id, func(ctx context.Context, n uint64, who string) (string, error) {
			_, err := m.review.Service().Merge(ctx, n, who, pub.PullRequestMergeRequest{Strategy: strategy,
				SourceCommit: r.PostFormValue("source_commit"), Message: crlfToLF(r.PostFormValue("message"))})
			return "", err
		})
	}
}

// prStatus closes (status closed) or reopens (open) the pull request.
func (m *Module) prStatus(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.prChange(w, r, id, func(ctx context.Context, n uint64, who string) (string, error) {
		_, err := m.review.Service().SetStatus(ctx, n, who, r.PostFormValue("status"))
		return "", err
	})
}

// prTitle changes the title.
func (m *Module) prTitle(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.prChange(w, r, id, func(ctx context.Context, n uint64, who string) (string, error) {
		t := r.PostFormValue("title")
		_, err := m.review.Service().Update(ctx, n, who, pub.PullRequestUpdateRequest{Title: &t})
		return "", err
	})
}

// prDescription changes the description.
func (m *Module) prDescription(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.prChange(w, r, id, func(ctx context.Context, n uint64, who string) (string, error) {
		d := crlfToLF(r.PostFormValue("description"))
		_, err := m.review.Service().Update(ctx, n, who, pub.PullRequestUpdateRequest{Description: &d})
		return "", err
	})
}
