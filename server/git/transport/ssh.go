package transport

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/policy"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git/gitexec"
	"github.com/slipwayhq/slipway/server/git/gitproto"
)

// Defaults of SSHConfig's bounds.
const (
	DefaultSSHMaxConns         = 256
	DefaultSSHMaxConnsPerUser  = 32
	DefaultSSHMaxChannels      = 4
	DefaultSSHHandshakeTimeout = 30 * time.Second
	DefaultSSHIdleTimeout      = 5 * time.Minute
	DefaultSSHMaxAuthTries     = 6
)

// KeyOwners finds the user an SSH public key belongs to (the identity service's KeyOwner):
// fingerprint is SHA256:<unpadded base64>, as ssh-keygen -l prints it; an unknown key is an
// error.
type KeyOwners interface {
	KeyOwner(fingerprint string) (string, error)
}

// KeyOwnerFunc is a function as KeyOwners.
type KeyOwnerFunc func(fingerprint string) (string, error)

// KeyOwner calls f.
func (f KeyOwnerFunc) KeyOwner(fingerprint string) (string, error) { return f(fingerprint) }

// SSHConfig configures git over SSH (ServeSSH).
type SSHConfig struct {
	// HostKey is the server's host key: the same on every server of the cluster (HostKeySeed),
	// so that a client's known_hosts entry holds through a failover. Required.
	HostKey ssh.Signer
	// Keys resolves a client's public key to its user. Required.
	Keys KeyOwners
	// MaxConns bounds the connections served at once (more are closed at once);
	// MaxConnsPerUser those of one user (more have their sessions refused with a message);
	// MaxChannels the sessions at once on one connection.
	MaxConns, MaxConnsPerUser, MaxChannels int
	// HandshakeTimeout bounds the SSH handshake and authentication; IdleTimeout closes a
	// connection on which no byte went either way for that long.
	HandshakeTimeout, IdleTimeout time.Duration
	// MaxAuthTries bounds the public keys a client may offer on one connection.
	MaxAuthTries int
}

func (c SSHConfig) withDefaults() SSHConfig {
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultSSHMaxConns
	}
	if c.MaxConnsPerUser <= 0 {
		c.MaxConnsPerUser = DefaultSSHMaxConnsPerUser
	}
	if c.MaxChannels <= 0 {
		c.MaxChannels = DefaultSSHMaxChannels
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultSSHHandshakeTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultSSHIdleTimeout
	}
	if c.MaxAuthTries <= 0 {
		c.MaxAuthTries = DefaultSSHMaxAuthTries
	}
	return c
}

// HostKeyPurpose is the purpose the cluster's SSH host key is derived under from the KEK
// (keyring.KEK.Derive): every server derives the same ed25519 key.
const HostKeyPurpose = "git ssh host key"

// HostKeySeed makes the host key from 32 bytes every server of the cluster derives alike.
func HostKeySeed(seed []byte) (ssh.Signer, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("git ssh: a host key seed is %d bytes, not %d", ed25519.SeedSize, len(seed))
	}
	return ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(seed))
}

// Extensions of an authenticated connection's permissions.
const (
	extUser        = "slipway-user"
	extFingerprint = "slipway-key"
)

// ServeSSH serves git over SSH on ln until ctx ends or ln fails: public-key authentication
// against the users' keys, then only `git-upload-pack 'NAME.git'` and `git-receive-pack
// 'NAME.git'` exec requests (gitproto.ParseSSHCommand), authorized and served as over HTTP.
// It closes ln and waits for the connections it serves to end before returning.
func (s *Server) ServeSSH(ctx context.Context, ln net.Listener, cfg SSHConfig) error {
	if s.err != nil {
		return s.err
	}
	if cfg.HostKey == nil || cfg.Keys == nil {
		return errors.New("git ssh: SSHConfig.HostKey and SSHConfig.Keys are required")
	}
	cfg = cfg.withDefaults()
	d := &sshd{s: s, cfg: cfg, users: map[string]int{}}
	sc := &ssh.ServerConfig{
		MaxAuthTries:      cfg.MaxAuthTries,
		PublicKeyCallback: d.publicKey,
		ServerVersion:     "SSH-2.0-Slipway",
	}
	sc.AddHostKey(cfg.HostKey)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		_ = ln.Close()
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, cfg.MaxConns)
	var pause time.Duration // after a failed accept (out of file descriptors...), as net/http does
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			s.log.Warn("git ssh: accept failed; retrying", "error", err, "in", pause)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(pause):
			}
			continue
		}
		pause = 0
		select {
		case sem <- struct{}{}:
		default:
			d.refusedFull(nc.RemoteAddr())
			_ = nc.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			d.serveConn(ctx, nc, sc)
		}()
	}
}

// sshd is one ServeSSH: its configuration and the connections per user.
type sshd struct {
	s   *Server
	cfg SSHConfig

	mu    sync.Mutex
	users map[string]int
	// Connections refused for MaxConns: logged at most once per fullLogEvery, with a count.
	fullLoggedAt time.Time
	fullRefused  int
}

// fullLogEvery bounds the log lines about connections refused at MaxConns.
const fullLogEvery = 5 * time.Second

// refusedFull logs a connection refused because the server serves MaxConns, at most one line
// per fullLogEvery (with how many were refused since the last line).
func (d *sshd) refusedFull(remote net.Addr) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fullRefused++
	if now := time.Now(); now.Sub(d.fullLoggedAt) >= fullLogEvery {
		d.s.log.Warn("git ssh: connections refused: the server serves its most connections at once", "remote", remote.String(), "max", d.cfg.MaxConns, "refused", d.fullRefused)
		d.fullLoggedAt, d.fullRefused = now, 0
	}
}

// publicKey authenticates a key by its owner; an unknown key is refused, which ssh clients
// report as "Permission denied (publickey)".
func (d *sshd) publicKey(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	if wait := d.s.kit().AuthLimited(originOf(meta.RemoteAddr()).Addr); wait > 0 {
		return nil, fmt.Errorf("too many failed authentications from %s: retry in %s", meta.RemoteAddr(), wait.Round(time.Second))
	}
	fp := ssh.FingerprintSHA256(key)
	user, err := d.cfg.Keys.KeyOwner(fp)
	if err != nil || user == "" {
		return nil, fmt.Errorf("no user has the key %s", fp)
	}
	return &ssh.Permissions{Extensions: map[string]string{extUser: user, extFingerprint: fp}}, nil
}

// serveConn runs one connection: the handshake within HandshakeTimeout, then its sessions
// until the client leaves or the connection idles out.
func (d *sshd) serveConn(ctx context.Context, nc net.Conn, sc *ssh.ServerConfig) {
	ic := &idleConn{Conn: nc}
	ic.touch()
	defer func() { _ = ic.Close() }()
	_ = nc.SetDeadline(time.Now().Add(d.cfg.HandshakeTimeout))
	conn, chans, reqs, err := ssh.NewServerConn(ic, sc)
	if err != nil {
		if authFailed(err) {
			// One failed authentication per connection (a client may offer several keys),
			// against the address's budget, shared with the HTTP edge.
			d.s.kit().AuthFailed(originOf(nc.RemoteAddr()).Addr)
		}
		d.s.log.Debug("git ssh: handshake failed", "remote", nc.RemoteAddr().String(), "error", err)
		return
	}
	_ = nc.SetDeadline(time.Time{})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go ic.watch(ctx, d.cfg.IdleTimeout)
	go func() {
		<-ctx.Done()
		_ = conn.Close()
	}()
	go ssh.DiscardRequests(reqs) // global requests (tcpip-forward...) are refused

	user, fp := conn.Permissions.Extensions[extUser], conn.Permissions.Extensions[extFingerprint]
	release, busy := d.enter(user)
	defer release()
	c := &sshConn{d: d, user: user, id: keyIdentity(user, fp), origin: originOf(nc.RemoteAddr())}
	var channels atomic.Int32
	var wg sync.WaitGroup
	for nch := range chans {
		switch {
		case nch.ChannelType() != "session":
			_ = nch.Reject(ssh.Prohibited, "Slipway serves git commands only: no port forwarding or other channels")
			continue
		case busy:
			_ = nch.Reject(ssh.ResourceShortage, fmt.Sprintf("user %q has %d SSH connections to this server, the most allowed: wait for some to end", user, d.cfg.MaxConnsPerUser))
			continue
		case int(channels.Load()) >= d.cfg.MaxChannels:
			_ = nch.Reject(ssh.ResourceShortage, fmt.Sprintf("at most %d sessions at once on one connection", d.cfg.MaxChannels))
			continue
		}
		ch, chReqs, err := nch.Accept()
		if err != nil {
			continue
		}
		channels.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer channels.Add(-1)
			c.serveSession(ctx, ch, chReqs)
		}()
	}
	cancel()
	wg.Wait()
}

// authFailed reports whether a handshake ended for want of authentication: a key was refused
// (the client gave up or ran out of tries), not merely the "none" probe every client makes first.
func authFailed(err error) bool {
	var authErr *ssh.ServerAuthError
	if !errors.As(err, &authErr) {
		return false
	}
	for _, e := range authErr.Errors {
		if !errors.Is(e, ssh.ErrNoAuth) {
			return true
		}
	}
	return false
}

// enter counts a connection of user; busy says the user already has the most allowed.
func (d *sshd) enter(user string) (release func(), busy bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.users[user] >= d.cfg.MaxConnsPerUser {
		return func() {}, true
	}
	d.users[user]++
	return func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.users[user]--; d.users[user] <= 0 {
			delete(d.users, user)
		}
	}, false
}

// keyIdentity is the identity a key's owner acts as: the same kind the API edge builds for a
// user's personal access token (the user's own and groups' policies, no scope, no second
// factor), named by the key, so that the grants cache keeps one entry per key.
func keyIdentity(user, fingerprint string) *auth.Identity {
	return &auth.Identity{Token: state.Token{
		AccessorID: "ssh-key:" + fingerprint, Name: "ssh key " + fingerprint,
		Type: pub.TokenTypeUser, User: user, Source: "ssh",
	}}
}

// originOf is where an SSH connection comes from, for policies (slipway:SourceIp,
// slipway:SecureTransport) and the audit trail.
func originOf(a net.Addr) api.Origin {
	o := api.Origin{Secure: true} // SSH is encrypted
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		o.Addr = ap.Addr().Unmap().WithZone("")
	}
	return o
}

// sshConn is an authenticated connection.
type sshConn struct {
	d      *sshd
	user   string
	id     *auth.Identity
	origin api.Origin
}

// exitStatus is the payload of an "exit-status" channel request.
type exitStatus struct{ Status uint32 }

// envRequest is the payload of an "env" channel request.
type envRequest struct{ Name, Value string }

// execRequest is the payload of an "exec" (and "subsystem") channel request.
type execRequest struct{ Command string }

// serveSession answers a session's requests: GIT_PROTOCOL in env, then one exec of a git
// service, run while later requests go on being answered (refused: the connection would stall
// on requests nobody reads). A shell or subsystem gets a message on stderr and exit status 1;
// pty, other variables, X11 and agent forwarding are refused.
func (c *sshConn) serveSession(ctx context.Context, ch ssh.Channel, reqs <-chan *ssh.Request) {
	var proto string
	var protoErr error
	var done chan struct{} // the command's, once one runs
	finish := func(run func() uint32) {
		done = make(chan struct{})
		go func() {
			defer close(done)
			code := run()
			_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(exitStatus{Status: code}))
			_ = ch.Close()
		}()
	}
	for req := range reqs {
		switch {
		case done != nil: // one command per session
			if req.WantReply {
				_ = req.Reply(false, nil)
			}
		case req.Type == "env":
			var e envRequest
			if ssh.Unmarshal(req.Payload, &e) != nil || e.Name != "GIT_PROTOCOL" {
				_ = req.Reply(false, nil)
				continue
			}
			proto, protoErr = gitproto.ParseGitProtocol(e.Value)
			_ = req.Reply(protoErr == nil, nil)
		case req.Type == "exec":
			var e execRequest
			if err := ssh.Unmarshal(req.Payload, &e); err != nil {
				_ = req.Reply(false, nil)
				continue
			}
			_ = req.Reply(true, nil)
			proto, protoErr := proto, protoErr
			finish(func() uint32 { return c.exec(ctx, ch, e.Command, proto, protoErr) })
		case req.Type == "shell" || req.Type == "subsystem":
			_ = req.Reply(true, nil)
			finish(func() uint32 {
				fmt.Fprintf(ch.Stderr(), "Hi %s! You are authenticated, but Slipway does not provide shell access: use git clone ssh://git@HOST:PORT/NAME.git (git-upload-pack and git-receive-pack are the only commands served).\n", c.user)
				return 1
			})
		default: // pty-req, x11-req, auth-agent-req@openssh.com, window-change, signal...
			if req.WantReply {
				_ = req.Reply(false, nil)
			}
		}
	}
	if done != nil {
		<-done
	} else {
		_ = ch.Close()
	}
}

// exec runs one git command and returns its exit status; what went wrong is on stderr.
func (c *sshConn) exec(ctx context.Context, ch ssh.Channel, cmd, proto string, protoErr error) uint32 {
	s := c.d.s
	stderr := ch.Stderr()
	fail := func(err error) uint32 {
		fmt.Fprintln(stderr, "slipway: "+strings.TrimPrefix(err.Error(), "slipway: "))
		return 1
	}
	svc, name, err := gitproto.ParseSSHCommand(cmd)
	if err != nil {
		return fail(err)
	}
	if protoErr != nil {
		return fail(fmt.Errorf("GIT_PROTOCOL: %w", protoErr))
	}
	detail := sshDetail(svc, proto)
	action := ActionGitPull
	if svc == gitproto.ReceivePack {
		action = ActionGitPush
	}
	caller := &command.Caller{Action: action, Resource: api.SRN(action, "repo/"+name), Source: c.origin.Addr.String(), RequestID: s.kit().NewRequestID()}
	// Reading, and either advertisement, needs GitPull (as over HTTP); a push's refs are
	// authorized one by one once its head is read.
	principal, err := s.kit().AuthorizeFrom(c.origin, c.id, ActionGitPull, "repo/"+name)
	caller.Kind, caller.ID, caller.Name = string(principal.Kind), principal.ID, principal.Name
	if err != nil {
		denied := *caller
		denied.Action, denied.Resource = ActionGitPull, api.SRN(ActionGitPull, "repo/"+name)
		s.audit(&denied, audit.OutcomeDenied, err, detail)
		return fail(err)
	}
	s.kit().Seen(principal, caller.Action, caller.Resource, caller.Source, caller.RequestID)
	if s.err != nil {
		err := fault.New(fault.Unavailable, "%v", s.err)
		s.audit(caller, audit.OutcomeFailed, err, detail)
		return fail(err)
	}
	repo, err := s.b.Repo(ctx, name)
	if err != nil {
		s.audit(caller, audit.OutcomeFailed, err, detail)
		return fail(err)
	}
	if svc == gitproto.UploadPack {
		err = s.uploadPackSSH(ctx, repo, proto, ch)
		s.audit(caller, outcomeOf(err), err, detail)
		if err != nil {
			return fail(gitMessage(err))
		}
		return 0
	}
	return c.receivePack(ctx, ch, repo, proto, caller, fail)
}

// receivePack serves a push over SSH: the advertisement, the head read and every ref
// authorized, then receive-pack with the head replayed, as over HTTP (Server.receive).
func (c *sshConn) receivePack(ctx context.Context, ch ssh.Channel, repo Repo, proto string, caller *command.Caller, fail func(error) uint32) uint32 {
	s := c.d.s
	var p *push
	var err error
	denied := false
	detail := sshDetail(gitproto.ReceivePack, proto)
	defer func() {
		if !denied && (p == nil || !p.wasProposed()) {
			s.audit(caller, outcomeOf(err), err, detail)
		}
	}()
	if !s.started() {
		err = fault.New(fault.Unavailable, "git pushes are not being served: the server's hook socket is closed (starting or stopping); push again")
		return fail(err)
	}
	// A caller who may push no ref of the repository is refused before the advertisement, as
	// over HTTP (authorizeAnyRef): nothing of a pack is read.
	if _, err = s.kit().AuthorizeAnyFrom(c.origin, c.id, ActionGitPush, "repo/"+repo.Name, policy.KeyReferenceName); err != nil {
		denied = true
		s.audit(caller, audit.OutcomeDenied, err, detail)
		return fail(err)
	}
	// The advertisement as over HTTP, without the "# service=" preamble.
	if err = s.cfg.Git.ReceivePack(ctx, gitexec.ServiceRequest{Dir: repo.Dir, Advertise: true, Protocol: proto, Stdout: ch}); err != nil {
		return fail(gitMessage(err))
	}
	body := &requestBody{r: ch, max: s.cfg.MaxPushBytes}
	in := &countingReader{r: body}
	head, err := gitproto.ReadReceiveHead(in, s.cfg.Limits)
	switch {
	case err != nil && in.n == 0:
		err = nil // the client left after the advertisement (git ls-remote)
		return 0
	case err != nil && errors.Is(err, gitproto.ErrLimit):
		err = fault.New(fault.TooLarge, "%v", err)
		return fail(err)
	case err != nil:
		err = body.check(err)
		if fault.CodeOf(err) != fault.TooLarge {
			err = fault.New(fault.Invalid, "git-receive-pack request: %v", err)
		}
		return fail(err)
	case len(head.Commands) == 0:
		return 0 // nothing to update: git says "Everything up-to-date"
	}
	p = &push{ctx: ctx, requestID: caller.RequestID, repo: repo, caller: c.id,
		write: func() (context.Context, context.CancelFunc, error) {
			wctx, cancel := context.WithTimeout(ctx, s.kit().WriteTimeout())
			return command.WithCaller(command.WithRequestID(wctx, caller.RequestID), caller), cancel, nil
		}}
	if err = s.authorizeRefs(p, head, func(ref string) error {
		_, err := s.kit().AuthorizeFrom(c.origin, c.id, ActionGitPush, "repo/"+repo.Name, policy.ContextValue{Key: policy.KeyReferenceName, Value: ref})
		return err
	}); err != nil {
		return fail(err)
	}
	// A denied ref is answered in git's report (proc-receive), as over HTTP; each denial is
	// audited, as Kit.Authorize audits it there.
	for _, ref := range slices.Sorted(maps.Keys(p.denied)) {
		denied = true
		s.audit(caller, audit.OutcomeDenied, errors.New(p.denied[ref]), detail)
	}
	err = body.check(s.receive(p, proto, head.Body(in), ch))
	p.mu.Lock()
	// Over SSH the client keeps its side open for the report: the body's end is seldom seen,
	// and then the log has no after_body_ms.
	p.timing.bodyEnd, p.timing.answered = body.endTime(), time.Now()
	p.mu.Unlock()
	s.logPush(p, err)
	if err != nil {
		return fail(gitMessage(err))
	}
	return 0
}

// sshDetail is a git request's audit detail over SSH, e.g. "git-upload-pack, protocol v2,
// over SSH" (requestDetail's, with the transport).
func sshDetail(svc gitproto.Service, proto string) string {
	version := "v0"
	if isV2(proto) {
		version = "v2"
	}
	return string(svc) + ", protocol " + version + ", over SSH"
}

// uploadPackSSH runs upload-pack's whole conversation on the channel (v0 and v2 alike).
func (s *Server) uploadPackSSH(ctx context.Context, repo Repo, proto string, ch ssh.Channel) error {
	return s.cfg.Git.UploadPack(ctx, gitexec.ServiceRequest{Dir: repo.Dir, Protocol: proto, Stdin: ch, Stdout: ch, Conversation: true})
}

// gitMessage is git's own complaint when it has one (its stderr, which names no server
// path), else the error.
func gitMessage(err error) error {
	var ge *gitexec.Error
	if errors.As(err, &ge) {
		if msg := strings.TrimSpace(ge.Stderr); msg != "" {
			return errors.New(msg)
		}
		return fmt.Errorf("git %s failed: %w", ge.Args[0], ge.Err)
	}
	return err
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// idleConn is a connection that watch closes after IdleTimeout without a byte either way.
type idleConn struct {
	net.Conn
	last atomic.Int64 // unix nanoseconds of the last read or write
}

func (c *idleConn) touch() { c.last.Store(time.Now().UnixNano()) }

func (c *idleConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.touch()
	}
	return n, err
}

func (c *idleConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.touch()
	}
	return n, err
}

// watch closes the connection once it has been idle for idle, or returns when ctx ends.
func (c *idleConn) watch(ctx context.Context, idle time.Duration) {
	tick := idle / 4
	if tick < 10*time.Millisecond {
		tick = 10 * time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if time.Since(time.Unix(0, c.last.Load())) > idle {
				_ = c.Close()
				return
			}
		}
	}
}
