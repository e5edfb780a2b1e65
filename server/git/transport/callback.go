package transport

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/server/git/gitproto"
)

// The hook callback protocol: a hook connects to the server's socket (EnvHookSocket), writes
// one hookRequest as a JSON line and reads one hookAnswer as a JSON line; the server closes
// the connection. The token (EnvHookToken) names the push, which the server knows from the
// HTTP request that started receive-pack; an unknown token is refused.
//
//	store-pack  (pre-receive)  Pack is the quarantined .pack's path, inside the repository;
//	                           the server stores it (Backend.StorePack), once per push.
//	push        (proc-receive) Commands, Atomic and PushOptions as receive-pack handed them
//	                           to the hook; the server proposes them (Backend.Push) and answers
//	                           a Result per command (Reason "" for ok).
type hookRequest struct {
	Token       string             `json:"token"`
	Op          string             `json:"op"`
	Pack        string             `json:"pack,omitempty"`
	Commands    []gitproto.Command `json:"commands,omitempty"`
	Atomic      bool               `json:"atomic,omitempty"`
	PushOptions []string           `json:"push_options,omitempty"`
}

// hookAnswer is the server's answer: Error for a refused callback (the hook prints it and
// fails), else the push's Results, and Messages for the hook to print (git shows each as
// "remote: slipway: ...").
type hookAnswer struct {
	Error    string            `json:"error,omitempty"`
	Results  []gitproto.Result `json:"results,omitempty"`
	Messages []string          `json:"messages,omitempty"`
}

// Callback operations.
const (
	opStorePack = "store-pack"
	opPush      = "push"
)

// maxHookRequest bounds a callback request (commands and push options are bounded by the
// receive limits long before this).
const maxHookRequest = 16 << 20

func (s *Server) serveHooks(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Error("hook socket stopped", "error", err)
			}
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { _ = conn.Close() }()
			s.serveHook(conn)
		}()
	}
}

func (s *Server) serveHook(conn net.Conn) {
	var req hookRequest
	br := bufio.NewReader(&limitedConn{conn: conn, n: maxHookRequest})
	line, err := br.ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &req)
	}
	var ans hookAnswer
	if err != nil {
		ans.Error = "slipway: unreadable hook callback: " + err.Error()
	} else {
		ans = s.callback(req)
	}
	out, _ := json.Marshal(ans)
	_, _ = conn.Write(append(out, '\n'))
}

// callback serves one request of a known push.
func (s *Server) callback(req hookRequest) hookAnswer {
	p := s.pushOf(req.Token)
	if p == nil {
		return hookAnswer{Error: "slipway: this push is not known to the server (its request ended); push again"}
	}
	if err := ctxDone(p.ctx); err != nil {
		return hookAnswer{Error: "slipway: " + err.Error()}
	}
	switch req.Op {
	case opStorePack:
		if err := s.storePack(p, req.Pack); err != nil {
			return hookAnswer{Error: "slipway: the push was not stored: " + err.Error()}
		}
		return hookAnswer{}
	case opPush:
		results, msgs := s.proposePush(p, req)
		return hookAnswer{Results: results, Messages: msgs}
	}
	return hookAnswer{Error: fmt.Sprintf("slipway: unknown hook callback %q", req.Op)}
}

// storePack stores the push's quarantined pack, which must be inside the repository, unless
// no ref of the push can apply (every ref denied, or an atomic push with one denied):
// proc-receive then rejects every ref and the pack would be stored for nothing.
func (s *Server) storePack(p *push, path string) error {
	clean := filepath.Clean(path)
	if !filepath.IsAbs(clean) || !strings.HasPrefix(clean, filepath.Clean(p.repo.Dir)+string(filepath.Separator)) || filepath.Ext(clean) != ".pack" {
		return fmt.Errorf("the pack %q is not a pack inside the repository", path)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stored {
		return fmt.Errorf("the push's pack was already stored")
	}
	if !p.canApply() {
		return nil
	}
	p.timing.storeStart = time.Now()
	sha, err := s.b.StorePack(p.ctx, p.repo, clean)
	p.timing.storeEnd = time.Now()
	if err != nil {
		return err
	}
	p.pack, p.stored = sha, true
	return nil
}

// proposePush commits the refs receive-pack handed the proc-receive hook that the request
// authorized with the same old and new values. A denied ref is answered "denied: WHY" with the
// full reason in msgs. The answer has one result per command; the hook's gitproto.Respond
// turns an atomic push with any rejection into a rejection of all.
func (s *Server) proposePush(p *push, req hookRequest) (results []gitproto.Result, msgs []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	results = make([]gitproto.Result, len(req.Commands))
	var updates []RefUpdate
	for i, c := range req.Commands {
		results[i].Ref = c.Ref
		if why, ok := p.denied[c.Ref]; ok {
			results[i].Reason = "denied: " + strings.TrimPrefix(why, "not allowed: ")
			msgs = append(msgs, fmt.Sprintf("%s: %s: a policy must allow %s on this repository for this ref (slipway:ReferenceName)", c.Ref, why, ActionGitPush))
			continue
		}
		if a, ok := p.allowed[c.Ref]; !ok || a != c {
			results[i].Reason = "not authorized: the ref was not in the push's request"
			continue
		}
		updates = append(updates, RefUpdate{Ref: c.Ref, Old: c.Old, New: c.New})
	}
	atomic := p.atomic || req.Atomic
	if len(updates) == 0 || (atomic && len(updates) < len(req.Commands)) {
		return results, msgs
	}
	p.proposed = true
	p.timing.proposeStart = time.Now()
	res, err := s.push(p, Push{Repo: p.repo, Pack: p.pack, Updates: updates, Atomic: atomic, Caller: p.caller, Options: p.options})
	p.timing.proposeEnd = time.Now()
	byRef := map[string]RefResult{}
	for _, r := range res {
		byRef[r.Ref] = r
	}
	for i := range results {
		if results[i].Reason != "" {
			continue
		}
		r, ok := byRef[results[i].Ref]
		switch {
		case err != nil:
			results[i].Reason = "outcome unknown, the push may or may not be stored (fetch to see): " + err.Error()
		case !ok:
			results[i].Reason = "the server gave no result for this ref; fetch to see whether it moved"
		case !r.OK:
			results[i].Reason = r.Reason
			if results[i].Reason == "" {
				results[i].Reason = "rejected"
			}
		}
		p.results = append(p.results, RefResult{Ref: results[i].Ref, OK: results[i].Reason == "", Reason: results[i].Reason})
	}
	return results, msgs
}

// limitedConn reads at most n bytes of a connection.
type limitedConn struct {
	conn net.Conn
	n    int64
}

func (l *limitedConn) Read(b []byte) (int, error) {
	if l.n <= 0 {
		return 0, fmt.Errorf("hook callback over %d bytes", maxHookRequest)
	}
	if int64(len(b)) > l.n {
		b = b[:l.n]
	}
	n, err := l.conn.Read(b)
	l.n -= int64(n)
	return n, err
}

// push proposes a push's updates in the write context of its request (push.write: for HTTP
// api.Kit.WriteContext, the server's write timeout from now, the request id of the client's
// Idempotency-Key, and the command caller the edge set; for SSH the same made by the SSH
// server), or in the request's context when there is none (the socket's fuzz test).
func (s *Server) push(p *push, up Push) ([]RefResult, error) {
	if p.write == nil {
		return s.b.Push(p.ctx, up)
	}
	ctx, cancel, err := p.write()
	if err != nil {
		return nil, err
	}
	defer cancel()
	return s.b.Push(ctx, up)
}
