package transport

import (
	"context"
	"errors"
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

// push is one receive-pack request as the hook callbacks see it.
type push struct {
	ctx     context.Context // the request's: a callback's work ends with it
	req     *http.Request   // for the write context of the proposal (Kit.WriteContext)
	repo    Repo
	caller  *auth.Identity
	atomic  bool
	allowed map[string]gitproto.Command // the head's commands, each authorized

	mu       sync.Mutex
	pack     string // the stored pack's sha256
	stored   bool   // pre-receive stored the pack
	proposed bool   // Backend.Push was called: its command's audit record is the request's
	results  []RefResult
	options  []string // the push options proc-receive relayed (logged; Push has no field for them)
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

// receivePack answers POST git-receive-pack: the head read and every ref authorized before
// git runs, then receive-pack with the head replayed and the hooks told how to call back.
func (s *Server) receivePack(w http.ResponseWriter, r *http.Request, id *auth.Identity) (err error) {
	var p *push
	denied := false // Kit.Authorize recorded the request
	defer func() {
		if !denied && (p == nil || !p.wasProposed()) {
			s.auditRequest(r, outcomeOf(err), err)
		}
	}()
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
	p = &push{ctx: r.Context(), req: r, repo: repo, caller: id, atomic: head.Atomic(), allowed: map[string]gitproto.Command{}}
	for _, c := range head.Commands {
		if err := s.kit().Authorize(w, r, id, ActionGitPush, "repo/"+repo.Name,
			policy.ContextValue{Key: policy.KeyReferenceName, Value: c.Ref}); err != nil {
			denied = true // Authorize audited the denial
			return err    // the whole push is refused
		}
		p.allowed[c.Ref] = c
	}
	token, forget := s.register(p)
	defer forget()
	// receive-pack reads the whole pack before it answers, but Go's HTTP/1 server may stop
	// reading a body once the answer has begun (DESIGN.md finding 10).
	_ = http.NewResponseController(w).EnableFullDuplex()
	out := &gitWriter{w: w, contentType: "application/x-git-receive-pack-result"}
	err = s.cfg.Git.ReceivePack(r.Context(), gitexec.ServiceRequest{
		Dir: repo.Dir, Protocol: proto, Stdin: head.Body(body), Stdout: out,
		Env: []string{EnvHookSocket + "=" + s.SocketPath(), EnvHookToken + "=" + token},
	})
	err = out.finish(body.check(err))
	p.mu.Lock()
	p.timing.bodyEnd, p.timing.answered = body.endTime(), time.Now()
	p.mu.Unlock()
	s.logPush(r, p, err)
	return err
}

func (p *push) wasProposed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proposed
}

// logPush logs a push's refs and outcome (the audit record names the request; the log has
// the refs).
func (s *Server) logPush(r *http.Request, p *push, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	attrs := []any{"repo", p.repo.Name, "request_id", requestID(r), "pack", p.pack}
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
