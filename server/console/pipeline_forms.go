package console

import (
	"net/http"
	"strings"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
)

// maxControlForm bounds the body of a control form (a comment or a reason with the fields).
const maxControlForm = 64 << 10

// pipelineChange runs one of the pipeline page's forms: it reads the form, calls change with
// the write's context, and goes back to the page the form came from (the pipeline's page, or
// the execution's when the form says back=execution); a refusal of the service (invalid,
// conflict, not found, forbidden) is shown on the pipeline's page.
func (m *Module) pipelineChange(w http.ResponseWriter, r *http.Request, id *auth.Identity, change func(r *http.Request, actor string) (execution string, err error)) error {
	if err := parseForm(w, r, maxControlForm); err != nil {
		return err
	}
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	execution, err := change(r.WithContext(ctx), actorOf(id))
	if refusal(err) {
		return m.renderPipeline(w, r, id, statusOf(fault.CodeOf(err)), errText(err))
	}
	if err != nil {
		return err
	}
	back := pipelineURL(r.PathValue("name"), "")
	if r.PostFormValue("back") == "execution" && execution != "" {
		back = executionURL(r.PathValue("name"), execution)
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}

// formValue is a form field without surrounding space.
func formValue(r *http.Request, key string) string { return strings.TrimSpace(r.PostFormValue(key)) }

// pipelineStart starts an execution ("Release change"), with the variables typed as NAME=VALUE
// lines overriding their defaults.
func (m *Module) pipelineStart(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.pipelineChange(w, r, id, func(r *http.Request, actor string) (string, error) {
		req := pub.PipelineStartRequest{}
		ps, err := pairs("Variables", r.PostFormValue("variables"))
		if err != nil {
			return "", fault.New(fault.Invalid, "%v", err)
		}
		for _, p := range ps {
			if req.Variables == nil {
				req.Variables = map[string]string{}
			}
			req.Variables[p[0]] = p[1]
		}
		e, err := m.pipelines.Start(r.Context(), actor, r.PathValue("name"), req)
		return e.ID, err
	})
}

// pipelineStop stops an execution: running actions finish, or with abandon they are abandoned
// at once.
func (m *Module) pipelineStop(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.pipelineChange(w, r, id, func(r *http.Request, actor string) (string, error) {
		req := pub.PipelineStopRequest{Abandon: r.PostFormValue("abandon") != "", Reason: formValue(r, "reason")}
		e, err := m.pipelines.Stop(r.Context(), actor, r.PathValue("name"), r.PathValue("id"), req)
		if err != nil {
			return "", err
		}
		return e.ID, nil
	})
}

// pipelineRetry retries a failed stage of a failed execution (mode FAILED_ACTIONS or
// ALL_ACTIONS, the button pressed).
func (m *Module) pipelineRetry(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.pipelineChange(w, r, id, func(r *http.Request, actor string) (string, error) {
		mode := formValue(r, "retry_mode")
		if mode != pub.RetryFailedActions && mode != pub.RetryAllActions {
			return "", fault.New(fault.Invalid, "retry mode %q: choose failed actions (%s) or all actions (%s)", mode, pub.RetryFailedActions, pub.RetryAllActions)
		}
		req := pub.PipelineRetryRequest{Execution: formValue(r, "execution"), Stage: formValue(r, "stage"), RetryMode: mode}
		e, err := m.pipelines.Retry(r.Context(), actor, r.PathValue("name"), req)
		if err != nil {
			return "", err
		}
		return e.ID, nil
	})
}

// pipelineRollback runs a stage again with the artifacts of its last successful execution, in
// a new execution.
func (m *Module) pipelineRollback(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.pipelineChange(w, r, id, func(r *http.Request, actor string) (string, error) {
		req := pub.PipelineRollbackRequest{Stage: formValue(r, "stage"), TargetExecution: formValue(r, "target")}
		e, err := m.pipelines.Rollback(r.Context(), actor, r.PathValue("name"), req)
		if err != nil {
			return "", err
		}
		return e.ID, nil
	})
}

// pipelineTransition enables or disables the inbound transition of the stage in the path;
// disabling asks for a reason.
func (m *Module) pipelineTransition(enable bool) func(http.ResponseWriter, *http.Request, *auth.Identity) error {
	return func(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
		return m.pipelineChange(w, r, id, func(r *http.Request, actor string) (string, error) {
			req := pub.TransitionRequest{Stage: r.PathValue("stage"), Enabled: enable, Reason: formValue(r, "reason")}
			if !enable && req.Reason == "" {
				return "", fault.New(fault.Invalid, "say why the transition into %s is disabled: the reason is shown to everyone who sees the pipeline", req.Stage)
			}
			_, err := m.pipelines.Transition(r.Context(), actor, r.PathValue("name"), req)
			return "", err
		})
	}
}

// pipelineApprove answers a manual approval with the button pressed (Approved or Rejected) and
// the comment. The edge has decided codepipeline:PutApprovalResult: a user without it gets the
// 403 page.
func (m *Module) pipelineApprove(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.pipelineChange(w, r, id, func(r *http.Request, actor string) (string, error) {
		status := formValue(r, "status")
		if status != pub.ApprovalApproved && status != pub.ApprovalRejected {
			return "", fault.New(fault.Invalid, "an approval's answer is %s or %s, not %q", pub.ApprovalApproved, pub.ApprovalRejected, status)
		}
		req := pub.ApprovalResultRequest{Execution: formValue(r, "execution"), Stage: formValue(r, "stage"), Action: formValue(r, "action"),
			Status: status, Comment: strings.TrimSpace(crlfToLF(r.PostFormValue("comment"))), Token: formValue(r, "token")}
		e, err := m.pipelines.Approve(r.Context(), actor, r.PathValue("name"), req)
		if err != nil {
			return "", err
		}
		return e.ID, nil
	})
}
