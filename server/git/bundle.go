package git

import (
	"mime"
	"net/http"
	"strings"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git/gitexec"
)

// bundleRoutes are the backup endpoints: a repository as a git bundle.
func (m *Module) bundleRoutes() []api.Route {
	return []api.Route{
		{Method: "GET", Pattern: "/v1/repos/{name}/bundle", Access: api.AnyToken, Action: "codecommit:GetRepositoryBundle", Resource: "repo/{name}", Handle: m.bundle},
	}
}

// bundle streams `git bundle create - --all` of this server's copy of the repository, once the
// copy has caught up with the replicated state as of the request (Backend.Repo: a read
// barrier, then WaitSynced). The bytes go from git to the client as git writes them, never held
// whole. A repository without refs has nothing to bundle: a conflict.
//
// The status is known only once git has finished, after the body: the answer declares the
// trailer pub.BundleStatusTrailer and sets it to "ok", or to the error that cut the bundle
// short (which the client must then discard). An error before git wrote anything is answered
// as any other error.
//
// Every download is recorded in the audit trail (who, the action, the repository, the outcome),
// as a clone's upload-pack request is: a bundle is the whole repository leaving the cluster.
func (m *Module) bundle(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	err := m.writeBundle(w, r)
	if c := command.CallerFrom(r.Context()); c != nil {
		rec := audit.Record{
			Time:      m.core.Now().UTC(),
			Principal: audit.Principal{Kind: audit.Kind(c.Kind), ID: c.ID, Name: c.Name},
			Action:    c.Action, Resource: c.Resource, Source: c.Source, RequestID: c.RequestID,
			Outcome: audit.OutcomeAllowed,
		}
		if err != nil {
			rec.Outcome, rec.ErrorCode = audit.OutcomeFailed, string(fault.CodeOf(err))
		}
		m.core.HTTP.Audit(rec)
	}
	return err // after the answer began, the edge only logs it
}

func (m *Module) writeBundle(w http.ResponseWriter, r *http.Request) error {
	if m.gitErr != nil {
		return fault.New(fault.Unavailable, "this server cannot serve git: %v", m.gitErr)
	}
	name := r.PathValue("name")
	// The wait for the copy to catch up is bounded as any consistent read; the stream that
	// follows only by the request (a large repository takes as long as it takes).
	wait, cancel := m.core.HTTP.ReadContext(r)
	defer cancel()
	repo, err := m.Backend().Repo(wait, name)
	if err != nil {
		return err
	}
	refs, err := m.git.Output(wait, repo.Dir, "for-each-ref", "--count=1", "--format=%(refname)")
	if err != nil {
		return fault.New(fault.Internal, "list the refs of repository %s: %v", state.Shorten(name), err)
	}
	if strings.TrimSpace(string(refs)) == "" {
		return fault.New(fault.Conflict, "repository %s is empty (it has no branches or tags): there is nothing to bundle until something is pushed to it", state.Shorten(name))
	}
	out := &bundleWriter{w: w, name: repo.Name}
	err = m.git.Run(r.Context(), gitexec.Command{
		Args:   []string{"bundle", "create", "--quiet", "-", "--all"},
		GitDir: repo.Dir,
		Stdout: out,
	})
	if err != nil && !out.started {
		return fault.New(fault.Internal, "bundle repository %s: %v", state.Shorten(name), err)
	}
	if err != nil {
		w.Header().Set(pub.BundleStatusTrailer, "error: the bundle was cut short: "+oneLine(err.Error()))
		return fault.New(fault.Internal, "the bundle of repository %s was cut short: %v", state.Shorten(name), err)
	}
	out.start() // git wrote nothing yet succeeded: never expected, but answer a well-formed empty body
	w.Header().Set(pub.BundleStatusTrailer, pub.BundleStatusOK)
	return nil
}

// bundleWriter writes the answer's headers on git's first byte, so that a git failing before it
// writes anything is answered with a plain error.
type bundleWriter struct {
	w       http.ResponseWriter
	name    string
	started bool
}

func (b *bundleWriter) start() {
	if b.started {
		return
	}
	b.started = true
	h := b.w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": b.name + ".bundle"}))
	h.Set("Cache-Control", "no-store")
	h.Set("Trailer", pub.BundleStatusTrailer)
	b.w.WriteHeader(http.StatusOK)
}

func (b *bundleWriter) Write(p []byte) (int, error) {
	b.start()
	return b.w.Write(p)
}

// oneLine folds a multi-line message (git's stderr) into one line for a header.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
