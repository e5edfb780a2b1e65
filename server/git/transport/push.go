package transport

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/policy"
	"github.com/slipwayhq/slipway/server/git/gitexec"
	"github.com/slipwayhq/slipway/server/git/gitproto"
)

// Environment variables the hooks learn the callback from (gitexec passes SLIPWAY_* only).
const (
	EnvHookSocket = "SLIPWAY_HOOK_SOCKET"
	EnvHookToken  = "SLIPWAY_HOOK_TOKEN"
)

// push is one receive-pack request (over HTTP or SSH) as the hook callbacks see it.
type push struct {
	ctx context.Context // the request's: a callback's work ends with it
	// write makes the context the proposal waits in (the server's write timeout, the request
	// id, the command caller): Kit.WriteContext for HTTP; nil proposes in ctx (the socket's
	// fuzz test).
	write     func() (context.Context, context.CancelFunc, error)
	requestID string
	repo      Repo
	caller    *auth.Identity
	atomic    bool
	allowed   map[string]gitproto.Command // the head's commands the caller may make
	denied    map[string]string           // the others: ref → why (the decision's message)

	mu       sync.Mutex
	pack     string // the stored pack's sha256
	stored   bool   // pre-receive stored the pack
	proposed bool   // Backend.Push was called: its command's audit record is the request's
	results  []RefResult
	options  []string // the request's push options, checked against Config.Limits (Push carries them)
	timing   pushTiming
}

// pushTiming is when each step of a push happened on the receiving server, logged with the
// push to tell what the time from the last byte pushed to the acknowledgement is made of
// (docs/BENCHMARKS.md). A zero time is a step that did not happen.
type pushTiming struct {
	bodyEnd                  time.Time // the request body's last byte read (receive-pack has the whole pack)
	storeStart, storeEnd     time.Time // pre-receive's callback: the pack stored as a blob on a quorum
	proposeStart, proposeEnd time.Time // proc-receive's callback: the Raft command committed and applied here
	answered                 time.Time // receive-pack exited, its report-status written
}

// attrs are the timings as log attributes, in milliseconds: after_body (the last byte pushed
// to the answer), then its parts: index (index-pack finishing in quarantine and pre-receive
// starting), store_pack, migrate (receive-pack moving the quarantine in and proc-receive
// starting), propose, report (the hook's answer to receive-pack's exit).
func (t pushTiming) attrs() []any {
	ms := func(a, b time.Time) any {
		if a.IsZero() || b.IsZero() {
			return nil
		}
		return b.Sub(a).Milliseconds()
	}
	prev := t.bodyEnd
	step := func(at time.Time) any {
		d := ms(prev, at)
		if !at.IsZero() {
			prev = at
		}
		return d
	}
	out := []any{"after_body_ms", ms(t.bodyEnd, t.answered)}
	out = append(out, "index_ms", step(t.storeStart), "store_pack_ms", step(t.storeEnd))
	out = append(out, "migrate_ms", step(t.proposeStart), "propose_ms", step(t.proposeEnd), "report_ms", step(t.answered))
	return out
}

// receivePack answers POST git-receive-pack. A caller who may push no ref of the repository
// is refused (403) before the body is read; otherwise the head is read and every ref
// authorized, and receive-pack runs with the head replayed and the hooks told how to call
// back. A denied ref is answered in git's report (proc-receive: `ng REF denied: ...`, and the
// full reason as a remote: line); the allowed ones apply as git defines (all or none when
// atomic). No pack is stored when no ref can apply.
func (s *Server) receivePack(w http.ResponseWriter, r *http.Request, id *auth.Identity) (err error) {
	var p *push
	denied := false // Kit.Authorize recorded the request
	defer func() {
		if !denied && (p == nil || !p.wasProposed()) {
			s.auditRequest(r, outcomeOf(err), err)
		}
	}()
	if err := s.authorizeAnyRef(w, r, id); err != nil {
		denied = fault.CodeOf(err) == fault.Forbidden
		return err
	}
	_, proto, repo, err := s.prepare(r)
	if err != nil {
		return err
	}
	if !s.started() {
		return fault.New(fault.Unavailable, "git pushes are not being served: the server's hook socket is closed (starting or stopping); push again")
	}
	body, err := s.body(r)
	if err != nil {
		return err
	}
	head, err := gitproto.ReadReceiveHead(body, s.cfg.Limits)
	switch err = body.check(err); {
	case fault.CodeOf(err) == fault.TooLarge:
		return err
	case errors.Is(err, gitproto.ErrLimit):
		return fault.New(fault.TooLarge, "%v", err)
	case err != nil:
		return fault.New(fault.Invalid, "git-receive-pack request: %v", err)
	}
	p = &push{ctx: r.Context(), requestID: requestID(r), repo: repo, caller: id,
		write: func() (context.Context, context.CancelFunc, error) { return s.kit().WriteContext(r, id) }}
	if err := s.authorizeRefs(p, head, func(ref string) error {
		return s.kit().Authorize(w, r, id, ActionGitPush, "repo/"+repo.Name, policy.ContextValue{Key: policy.KeyReferenceName, Value: ref})
	}); err != nil {
		return err
	}
	denied = len(p.denied) > 0 // Authorize audited each denial; git tells the user (proc-receive)
	// receive-pack reads the whole pack before it answers, but Go's HTTP/1 server may stop
	// reading a body once the answer has begun (DESIGN.md finding 10).
	_ = http.NewResponseController(w).EnableFullDuplex()
	out := &gitWriter{w: w, contentType: "application/x-git-receive-pack-result"}
	err = s.receive(p, proto, head.Body(body), out)
	err = out.finish(body.check(err))
	p.mu.Lock()
	p.timing.bodyEnd, p.timing.answered = body.endTime(), time.Now()
	p.mu.Unlock()
	s.logPush(p, err)
	return err
}

// authorizeRefs decides every ref of a push's head with allow (codecommit:GitPush with
// slipway:ReferenceName, through the API's one decision) and records the push's options and
// what was allowed, with those very values (the proc-receive callback proposes only those), and
// what was denied, with the decision's message (proc-receive answers those refs with it). An
// error of allow other than Forbidden (the identity service unavailable) ends the push.
func (s *Server) authorizeRefs(p *push, head *gitproto.ReceiveHead, allow func(ref string) error) error {
	p.atomic = head.Atomic()
	p.options = head.PushOptions
	p.allowed = make(map[string]gitproto.Command, len(head.Commands))
	p.denied = map[string]string{}
	for _, c := range head.Commands {
		if err := allow(c.Ref); err != nil {
			if fault.CodeOf(err) != fault.Forbidden {
				return err
			}
			p.denied[c.Ref] = err.Error()
			continue
		}
		p.allowed[c.Ref] = c
	}
	return nil
}

// receive runs receive-pack for an authorized push (the same for HTTP and SSH): stdin is the
// request from its head on (head.Body), stdout gets git's answer; the hooks call back under
// the push's token, which is forgotten when git ends.
func (s *Server) receive(p *push, proto string, stdin io.Reader, stdout io.Writer) error {
	token, forget := s.register(p)
	defer forget()
	return s.cfg.Git.ReceivePack(p.ctx, gitexec.ServiceRequest{
		Dir: p.repo.Dir, Protocol: proto, Stdin: stdin, Stdout: stdout,
		Env: []string{EnvHookSocket + "=" + s.SocketPath(), EnvHookToken + "=" + token},
	})
}

// authorizeAnyRef refuses, before anything of the body is read, a caller whose policies allow
// codecommit:GitPush on the repository for no ref at all (api.Kit.AuthorizeAny), as the
// receive-pack advertisement does: git shows that refusal's text.
func (s *Server) authorizeAnyRef(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	rt, err := parseRoute(r)
	if err != nil {
		return err
	}
	return s.kit().AuthorizeAny(w, r, id, ActionGitPush, "repo/"+rt.Repo, policy.KeyReferenceName)
}

// canApply reports whether any ref of the push may apply: some allowed, and none denied when
// it is atomic. A push that cannot stores no pack.
func (p *push) canApply() bool {
	return len(p.allowed) > 0 && (!p.atomic || len(p.denied) == 0)
}

func (p *push) wasProposed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proposed
}

// logPush logs a push's refs and outcome (the audit record names the request; the log has
// the refs).
func (s *Server) logPush(p *push, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	attrs := []any{"repo", p.repo.Name, "request_id", p.requestID, "pack", p.pack}
	if len(p.options) > 0 {
		attrs = append(attrs, "push_options", p.options)
	}
	attrs = append(attrs, p.timing.attrs()...)
	for _, res := range p.results {
		c := p.allowed[res.Ref]
		attrs = append(attrs, "ref", res.Ref, "old", c.Old, "new", c.New, "ok", res.OK, "reason", res.Reason)
	}
	if err != nil {
		s.log.Warn("git push failed", append(attrs, "error", err)...)
		return
	}
	s.log.Info("git push", attrs...)
}

// requestID is the request id the edge put in the request's command caller.
func requestID(r *http.Request) string {
	if c := command.CallerFrom(r.Context()); c != nil {
		return c.RequestID
	}
	return ""
}
