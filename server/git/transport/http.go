package transport

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/git/gitexec"
	"github.com/slipwayhq/slipway/server/git/gitproto"
)

// advertise answers GET info/refs: the ref advertisement of upload-pack (v0 or v2) or
// receive-pack, from the local copy once it has caught up (Backend.Repo). The receive-pack
// one is refused (403, text git shows as "remote: ...") to a caller who may push no ref of
// the repository.
func (s *Server) advertise(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if rt, err := parseRoute(r); err == nil && rt.Service == gitproto.ReceivePack {
		if err := s.authorizeAnyRef(w, r, id); err != nil {
			return err
		}
	}
	rt, proto, repo, err := s.prepare(r)
	if err != nil {
		return err
	}
	out := &gitWriter{w: w, contentType: "application/x-" + string(rt.Service) + "-advertisement"}
	if rt.Service != gitproto.UploadPack || !isV2(proto) {
		// Protocol v0 (and receive-pack always) starts with the service line.
		out.prefix = servicePreamble(rt.Service)
	}
	req := gitexec.ServiceRequest{Dir: repo.Dir, Advertise: true, Protocol: proto, Stdout: out}
	if rt.Service == gitproto.UploadPack {
		err = s.cfg.Git.UploadPack(r.Context(), req)
	} else {
		err = s.cfg.Git.ReceivePack(r.Context(), req)
	}
	return out.finish(err)
}

// uploadPack answers POST git-upload-pack (fetch and clone).
func (s *Server) uploadPack(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	_, proto, repo, err := s.prepare(r)
	if err != nil {
		s.auditRequest(r, audit.OutcomeFailed, err)
		return err
	}
	body, err := s.body(r)
	if err != nil {
		s.auditRequest(r, audit.OutcomeFailed, err)
		return err
	}
	out := &gitWriter{w: w, contentType: "application/x-git-upload-pack-result"}
	err = out.finish(body.check(s.cfg.Git.UploadPack(r.Context(), gitexec.ServiceRequest{Dir: repo.Dir, Protocol: proto, Stdin: body, Stdout: out})))
	s.auditRequest(r, outcomeOf(err), err)
	return err
}

// prepare reads what every git request needs: its route, its Git-Protocol and its repository.
func (s *Server) prepare(r *http.Request) (gitproto.Route, string, Repo, error) {
	if s.err != nil {
		return gitproto.Route{}, "", Repo{}, fault.New(fault.Unavailable, "%v", s.err)
	}
	rt, err := parseRoute(r)
	if err != nil {
		return rt, "", Repo{}, err
	}
	proto, err := gitproto.ParseGitProtocol(r.Header.Get("Git-Protocol"))
	if err != nil {
		return rt, "", Repo{}, fault.New(fault.Invalid, "%v", err)
	}
	// Repo waits for the cluster (a read barrier, then this copy's sync): bounded as every such
	// wait is, so a server cut off from its peers answers "no leader" instead of holding git's
	// request for as long as git waits (which is forever).
	ctx, cancel := s.kit().ReadContext(r)
	defer cancel()
	repo, err := s.b.Repo(ctx, rt.Repo)
	if err != nil {
		return rt, "", Repo{}, err
	}
	return rt, proto, repo, nil
}

func isV2(proto string) bool {
	for _, item := range strings.Split(proto, ":") {
		if item == "version=2" {
			return true
		}
	}
	return false
}

// servicePreamble is pkt-line("# service=NAME\n") and a flush.
func servicePreamble(svc gitproto.Service) []byte {
	var b strings.Builder
	pw := gitproto.NewWriter(&b)
	_ = pw.Line("# service=" + string(svc))
	_ = pw.Flush()
	return []byte(b.String())
}

// gitWriter is the answer git writes: the headers (and prefix) go out with git's first byte,
// so that a git that fails before writing is answered by the edge with a clean error.
type gitWriter struct {
	w           http.ResponseWriter
	contentType string
	prefix      []byte
	wrote       bool
}

func (g *gitWriter) start() error {
	if g.wrote {
		return nil
	}
	g.wrote = true
	h := g.w.Header()
	h.Set("Content-Type", g.contentType)
	h.Set("Cache-Control", "no-cache, max-age=0, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "Fri, 01 Jan 1980 00:00:00 GMT")
	g.w.WriteHeader(http.StatusOK)
	if len(g.prefix) > 0 {
		_, err := g.w.Write(g.prefix)
		return err
	}
	return nil
}

func (g *gitWriter) Write(p []byte) (int, error) {
	if err := g.start(); err != nil {
		return 0, err
	}
	n, err := g.w.Write(p)
	if f, ok := g.w.(http.Flusher); ok {
		f.Flush() // git's side-band progress reaches the client as it comes
	}
	return n, err
}

// finish ends the answer: on success the headers go out even if git wrote nothing; an error
// before anything was written is returned for the edge to answer, after that it is returned
// only to be logged.
func (g *gitWriter) finish(err error) error {
	if err == nil {
		return g.start()
	}
	return err
}

// requestBody is a request body decoded (gzip) and bounded by the push limit.
type requestBody struct {
	r        io.Reader
	n, max   int64
	exceeded bool
	end      atomic.Int64 // when the body's EOF was read (Unix nanoseconds), for a push's timings
}

// endTime is when the body's EOF was read, zero before. It is atomic because git's stdin is
// copied by a goroutine that a run may leave behind (gitexec's wait delay).
func (b *requestBody) endTime() time.Time {
	if ns := b.end.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// body opens the request body: Content-Encoding gzip is decoded, and more than MaxPushBytes
// (declared or read, after decoding) is refused with fault.TooLarge.
func (s *Server) body(r *http.Request) (*requestBody, error) {
	max := s.cfg.MaxPushBytes
	if r.ContentLength > max {
		return nil, tooLarge(max)
	}
	var in io.Reader = r.Body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, fault.New(fault.Invalid, "the request body is not gzip as its Content-Encoding says: %v", err)
		}
		in = zr
	default:
		return nil, fault.New(fault.Invalid, "Content-Encoding %q is not supported: send the body plain or gzip", enc)
	}
	return &requestBody{r: in, max: max}, nil
}

func tooLarge(max int64) error {
	return fault.New(fault.TooLarge, "the request is over the push size limit of %d bytes: push less at a time (fewer commits, or large files elsewhere)", max)
}

func (b *requestBody) Read(p []byte) (int, error) {
	if b.exceeded {
		return 0, tooLarge(b.max)
	}
	if rem := b.max - b.n + 1; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > b.max {
		b.exceeded = true
		return 0, tooLarge(b.max)
	}
	if err == io.EOF {
		b.end.CompareAndSwap(0, time.Now().UnixNano())
	}
	return n, err
}

// check replaces git's error by the body's limit error when the body went over it.
func (b *requestBody) check(err error) error {
	if err != nil && b.exceeded {
		return tooLarge(b.max)
	}
	return err
}

func outcomeOf(err error) audit.Outcome {
	switch {
	case err == nil:
		return audit.OutcomeAllowed
	case fault.CodeOf(err) == fault.Forbidden:
		return audit.OutcomeDenied
	}
	return audit.OutcomeFailed
}

// auditRequest records a git request in the audit trail under the caller the edge set
// (who, the route's action, the repository's resource name, source, request id).
func (s *Server) auditRequest(r *http.Request, outcome audit.Outcome, err error) {
	s.audit(command.CallerFrom(r.Context()), outcome, err, requestDetail(r))
}

// audit records a git request of caller c (nothing when c is nil), with its detail (the service
// and protocol: requestDetail, sshDetail).
func (s *Server) audit(c *command.Caller, outcome audit.Outcome, err error, detail string) {
	if c == nil {
		return
	}
	rec := audit.Record{
		Time:      s.now(),
		Principal: audit.Principal{Kind: audit.Kind(c.Kind), ID: c.ID, Name: c.Name},
		Action:    c.Action, Resource: c.Resource, Source: c.Source, RequestID: c.RequestID,
		Outcome: outcome,
	}
	if err != nil {
		rec.ErrorCode = string(fault.CodeOf(err))
	}
	rec.Detail = detail
	s.kit().Audit(rec)
}

// requestDetail is a git request's audit detail: its service and protocol version, e.g.
// "git-upload-pack, protocol v2" ("" for a path that is not a git route).
func requestDetail(r *http.Request) string {
	rt, err := parseRoute(r)
	if err != nil {
		return ""
	}
	version := "v0"
	if isV2(r.Header.Get("Git-Protocol")) {
		version = "v2"
	}
	return string(rt.Service) + ", protocol " + version
}

func (s *Server) now() time.Time { return time.Now().UTC() }
