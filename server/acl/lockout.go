package acl

import (
	"sync"
	"time"
)

// Sign-in limits, per server (in memory: a server that restarts forgets its counts, which only
// ever lets an attacker start over on one server, never skip a lock already replicated).
const (
	// LockoutFailures failed sign-ins of one user within LockoutWindow lock the user for
	// LockoutDuration: the server that counts the last one proposes CmdUserLock, so that every
	// server refuses the user until then.
	LockoutFailures = 5
	LockoutWindow   = 15 * time.Minute
	LockoutDuration = 15 * time.Minute
	// AddressFailures failed sign-ins from one address are allowed per AddressWindow (a token
	// bucket refilled over the window); past them the address gets 429 with Retry-After.
	AddressFailures = 20
	AddressWindow   = 15 * time.Minute
	// MaxConcurrentVerifications bounds the password hashes this server computes at once for
	// sign-in; beyond it a sign-in is answered 503 (busy, retry).
	MaxConcurrentVerifications = 4
	// maxTracked bounds each table of counts; past it the table starts over (an attacker who
	// floods it with names or addresses only resets counts, which the replicated lock survives).
	maxTracked = 100_000
)

// userFailures counts one user's failed sign-ins in a fixed window that starts at the first.
type userFailures struct {
	n     int
	first time.Time
}

// addrBucket is an address's token bucket of failed sign-ins.
type addrBucket struct {
	tokens float64
	last   time.Time
}

// lockout counts failed sign-ins per user and per source address on this server.
type lockout struct {
	mu    sync.Mutex
	users map[string]*userFailures
	addrs map[string]*addrBucket
}

func newLockout() *lockout {
	return &lockout{users: map[string]*userFailures{}, addrs: map[string]*addrBucket{}}
}

// addrWait reports how long addr must wait before its next sign-in attempt (0: it may try now).
func (l *lockout) addrWait(addr string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.addrs[addr]
	if !ok {
		return 0
	}
	b.refill(now)
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(AddressWindow) / AddressFailures)
}

func (b *addrBucket) refill(now time.Time) {
	if el := now.Sub(b.last); el > 0 {
		b.tokens += float64(el) / float64(AddressWindow) * AddressFailures
		if b.tokens > AddressFailures {
			b.tokens = AddressFailures
		}
	}
	b.last = now
}

// fail records a failed sign-in of user from addr and reports whether the user has now reached
// LockoutFailures within LockoutWindow (the caller locks them, and the count starts over).
func (l *lockout) fail(user, addr string, now time.Time) (lock bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.addrs) >= maxTracked {
		l.addrs = map[string]*addrBucket{}
	}
	b, ok := l.addrs[addr]
	if !ok {
		b = &addrBucket{tokens: AddressFailures, last: now}
		l.addrs[addr] = b
	}
	b.refill(now)
	b.tokens--
	if len(l.users) >= maxTracked {
		l.users = map[string]*userFailures{}
	}
	f, ok := l.users[user]
	if !ok || now.Sub(f.first) > LockoutWindow {
		f = &userFailures{first: now}
		l.users[user] = f
	}
	f.n++
	if f.n >= LockoutFailures {
		delete(l.users, user)
		return true
	}
	return false
}

// succeed forgets a user's failed sign-ins (the address keeps its count).
func (l *lockout) succeed(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.users, user)
}
