package acl

import (
	"testing"
	"time"

	"github.com/slipwayhq/slipway/server/core/fault"
)

// TestLockoutCounts: a user is locked at the LockoutFailures-th failure within LockoutWindow,
// not when the failures are spread wider; success forgets them; an address refills one failure
// per AddressWindow/AddressFailures after its budget is spent.
func TestLockoutCounts(t *testing.T) {
	l := newLockout()
	t0 := time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC)
	for i := range LockoutFailures - 1 {
		if l.fail("ana", "10.0.0.1", t0.Add(time.Duration(i)*time.Minute)) {
			t.Fatalf("locked at failure %d", i+1)
		}
	}
	if l.fail("ana", "10.0.0.1", t0.Add(LockoutWindow+time.Minute)) {
		t.Fatal("locked by failures spread over more than the window")
	}
	for i := range LockoutFailures - 2 {
		l.fail("ana", "10.0.0.2", t0.Add(LockoutWindow+time.Duration(2+i)*time.Minute))
	}
	if !l.fail("ana", "10.0.0.3", t0.Add(LockoutWindow+10*time.Minute)) {
		t.Fatalf("not locked at the %dth failure within the window", LockoutFailures)
	}
	l.fail("bo", "10.0.0.4", t0)
	l.succeed("bo")
	for range LockoutFailures - 1 {
		if l.fail("bo", "10.0.0.4", t0) {
			t.Fatal("a success did not reset the count")
		}
	}

	step := AddressWindow / AddressFailures
	for i := range AddressFailures {
		if w := l.addrWait("10.9.9.9", t0); w != 0 {
			t.Fatalf("address waits %v after %d failures", w, i)
		}
		l.fail("guess", "10.9.9.9", t0)
	}
	if w := l.addrWait("10.9.9.9", t0); w != step {
		t.Fatalf("address over its budget waits %v; want %v", w, step)
	}
	if w := l.addrWait("10.9.9.9", t0.Add(step)); w != 0 {
		t.Fatalf("address after %v waits %v; want 0", step, w)
	}
}

// TestPasswordChecksBounded: with MaxConcurrentVerifications checks running, another sign-in is
// refused as busy (503) instead of waiting for memory.
func TestPasswordChecksBounded(t *testing.T) {
	s := &signIn{slots: make(chan struct{}, MaxConcurrentVerifications)}
	for range MaxConcurrentVerifications {
		s.slots <- struct{}{}
	}
	if _, err := s.verify("", "pw"); fault.CodeOf(err) != fault.Unavailable {
		t.Fatalf("a check over the bound: %v; want unavailable", err)
	}
	<-s.slots
	if ok, err := s.verify("", "pw"); ok || err != nil {
		t.Fatalf("a check within the bound, no password: %v %v; want false, nil", ok, err)
	}
}
