package acl

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/credential"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
)

// msgWrongPassword answers a wrong user name and a wrong password alike: the answer must not
// tell which names exist.
const msgWrongPassword = "user name or password is wrong"

// dummyHash is what a sign-in of a user that does not exist (or has no password) is verified
// against, so that it costs the same argon2 work as a real one and timing does not tell.
var dummyHash = sync.OnceValue(func() string {
	h, _ := credential.HashPassword(uuid.NewString())
	return h
})

// signIn is one server's sign-in service: the Go API of password sign-in, with its per-server
// failure counts (lockout) and its bound on concurrent password verifications.
type signIn struct {
	core  *module.Core // filled in by the server before any route is served
	id    *Identity
	fails *lockout
	slots chan struct{}
}

func newSignIn(m *Module) *signIn {
	return &signIn{core: m.core, id: m.Identity(), fails: newLockout(), slots: make(chan struct{}, MaxConcurrentVerifications)}
}

// errMFARequired is the sign-in refusal of a user with MFA who gave no code.
var errMFARequired = errors.New(pub.CodeMFARequired)

// lookupUser reads a user for sign-in as the cluster has it now (after a consistent read): a
// server that has not yet applied a lock, a new password or an MFA enrolment must not sign the
// user in by the old rules. ok is false when there is no such user. Without a leader there is
// no sign-in anyway (a session is a write), so the read's error is the answer.
func (s *signIn) lookupUser(ctx context.Context, name string) (User, bool, error) {
	if err := s.core.Cluster.ConsistentRead(ctx); err != nil {
		return User{}, false, err
	}
	var u User
	var ok bool
	err := s.core.State.View(func(tx *state.Tx) error {
		var err error
		u, ok, err = state.Get[User](tx, bucketUsers, name)
		return err
	})
	return u, ok, err
}

// lockedError is the answer to a sign-in of a locked user.
func lockedError(name string, until, now time.Time) error {
	in := until.Sub(now).Round(time.Minute)
	if in < time.Minute {
		in = time.Minute
	}
	return fault.New(fault.Forbidden, "account %s is locked after %d failed sign-ins until %s (in %s): try again then, or ask an administrator to `slipway iam user unlock %s`",
		name, LockoutFailures, until.UTC().Format(time.RFC3339), shortDuration(in), name)
}

// shortDuration prints 14m, 1h5m: a duration without the zero seconds Go adds.
func shortDuration(d time.Duration) string {
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%dm", h, m)
}

// verify checks a password under the concurrency bound: false when it does not match (or the
// user has no password), Unavailable when MaxConcurrentVerifications are running already.
func (s *signIn) verify(hash, password string) (bool, error) {
	select {
	case s.slots <- struct{}{}:
	default:
		return false, fault.New(fault.Unavailable, "the server is busy checking other sign-ins: retry in a moment")
	}
	defer func() { <-s.slots }()
	if hash == "" {
		_, _, _ = credential.VerifyPassword(dummyHash(), password)
		return false, nil
	}
	ok, _, err := credential.VerifyPassword(hash, password)
	return ok && err == nil, nil
}

// lockTimeout bounds how long a sign-in waits for the lock it proposes.
const lockTimeout = 10 * time.Second

// failed records a failed sign-in of name from addr, and locks the user (a replicated
// CmdUserLock) when it is their LockoutFailures-th within LockoutWindow; the sign-in waits for
// the lock to apply, so the next attempt meets it on every server.
func (s *signIn) failed(ctx context.Context, u User, exists bool, name, addr string, now time.Time) {
	if !s.fails.fail(name, addr, now) || !exists {
		return
	}
	until := now.Add(LockoutDuration)
	// Its own context: its own request ID (the lock is a command of its own), and
	// not cut short by a client that hangs up.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lockTimeout)
	defer cancel()
	if rid := command.RequestIDFrom(ctx); rid != "" {
		lctx = command.WithRequestID(lctx, rid+"/lock")
	}
	_, err := command.Propose(lctx, s.core.Cluster, CmdUserLock, now, UserLockPayload{Name: u.Name, Until: until.UnixNano()})
	if err != nil {
		s.core.Log.Warn("could not lock a user after failed sign-ins", "user", u.Name, "error", err)
		return
	}
	s.core.Log.Info("user locked after failed sign-ins", "user", u.Name, "failures", LockoutFailures, "until", until.UTC().Format(time.RFC3339))
}

// Login checks a user's password (and second factor, when they have MFA enrolled) and opens a
// sign-in session: a token of type session acting as the user, with MFA set when a second
// factor was given. addr is the caller's address, for the per-address limit. The refusals:
// too many failures from addr (TooMany, with the wait); the user locked (Forbidden, saying
// until when); a wrong user or password (Unauthorized, the same message for both); MFA
// enrolled and no code (errMFARequired); a wrong or replayed code (Unauthorized).
func (s *signIn) Login(ctx context.Context, req pub.LoginRequest, addr string) (pub.Token, time.Duration, error) {
	now := s.core.Now()
	if wait := s.fails.addrWait(addr, now); wait > 0 {
		return pub.Token{}, wait, fault.New(fault.TooMany, "too many failed sign-ins from your address (more than %d per %s): retry after %s",
			AddressFailures, shortDuration(AddressWindow), wait.Round(time.Second))
	}
	ttl := pub.DefaultSessionTTL
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d < time.Minute || d > pub.MaxSessionTTL {
			return pub.Token{}, 0, fault.New(fault.Invalid, "ttl %s is not a duration from 1m to %s (such as 30m or 12h)", state.Shorten(req.TTL), shortDuration(pub.MaxSessionTTL))
		}
		ttl = d
	}
	if req.User == "" || req.Password == "" {
		return pub.Token{}, 0, fault.New(fault.Invalid, "give the user name and the password")
	}
	if len(req.User) > 256 {
		return pub.Token{}, 0, fault.New(fault.Unauthorized, msgWrongPassword)
	}
	u, exists, err := s.lookupUser(ctx, req.User)
	if err != nil {
		return pub.Token{}, 0, err
	}
	if c := command.CallerFrom(ctx); c != nil && exists {
		cc := *c
		cc.Kind, cc.ID, cc.Name, cc.Resource = KindUser, u.ID, u.Name, UserSRN(u.Name)
		ctx = command.WithCaller(ctx, &cc)
	}
	// The lock is checked before the password: a locked account answers the same whatever is
	// tried, so guessing on does not tell when a password is right.
	if exists && u.LockedUntil != nil && u.LockedUntil.After(now) {
		return pub.Token{}, 0, lockedError(u.Name, *u.LockedUntil, now)
	}
	ok, err := s.verify(u.PasswordHash, req.Password)
	if err != nil {
		return pub.Token{}, 0, err
	}
	if !ok {
		s.failed(ctx, u, exists, req.User, addr, now)
		return pub.Token{}, 0, fault.New(fault.Unauthorized, msgWrongPassword)
	}
	mfa := false
	if u.Enabled() {
		if req.Code == "" && req.RecoveryCode == "" {
			return pub.Token{}, 0, errMFARequired
		}
		if err := s.secondFactor(ctx, u, req, now); err != nil {
			if fault.CodeOf(err) == fault.Unauthorized {
				s.failed(ctx, u, exists, req.User, addr, now)
			}
			return pub.Token{}, 0, err
		}
		mfa = true
	}
	s.fails.succeed(req.User)
	tk := Token{AccessorID: uuid.NewString(), Name: u.Name + " session", Type: pub.TokenTypeSession, User: u.Name,
		ExpirationTime: now.Add(ttl).UnixNano(), MFA: mfa}
	if mfa {
		tk.MFATime = now.UnixNano()
	}
	secret := auth.NewSecret()
	tk.SecretHash = auth.HashSecret(secret)
	res, err := command.Propose(ctx, s.core.Cluster, CmdCreateToken, now, CreateTokenPayload{Token: tk})
	if err != nil {
		return pub.Token{}, 0, err
	}
	out, err := created(res, secret)
	return out, 0, err
}

// secondFactor checks the TOTP code or recovery code of a sign-in and consumes it through
// CmdMFAUse, which every server applies alike: a code accepted once is refused after, wherever
// it is sent. A recovery code is checked here first, so that a wrong one costs no log entry.
func (s *signIn) secondFactor(ctx context.Context, u User, req pub.LoginRequest, now time.Time) error {
	use := MFAUsePayload{Name: u.Name}
	if req.RecoveryCode != "" {
		if _, ok := credential.UseRecoveryCode(u.MFA.RecoveryHashes, req.RecoveryCode); !ok {
			return fault.New(fault.Unauthorized, "the recovery code is not valid or was already used")
		}
		use.RecoveryHash = credential.HashRecoveryCode(req.RecoveryCode)
	} else {
		secret, err := s.id.openTOTPSecret(u)
		if err != nil {
			return err
		}
		step, ok := credential.VerifyTOTP(secret, req.Code, now, int64(u.MFA.LastCounter))
		if !ok {
			return fault.New(fault.Unauthorized, "the MFA code is wrong or was already used: give the code your authenticator app shows now")
		}
		use.Counter = uint64(step)
	}
	// The use is its own command in the request: its request ID must differ from the session's.
	if rid := command.RequestIDFrom(ctx); rid != "" {
		ctx = command.WithRequestID(ctx, rid+"/mfa")
	}
	_, err := command.Propose(ctx, s.core.Cluster, CmdMFAUse, now, use)
	return err
}
