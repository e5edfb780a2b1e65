package hooks

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/state"
)

func openState(t *testing.T) *state.Store {
	t.Helper()
	s, err := state.Open(filepath.Join(t.TempDir(), "state.db"), Buckets()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func update(t *testing.T, s *state.Store, fn func(tx *state.Tx) error) {
	t.Helper()
	if err := s.Update(fn); err != nil {
		t.Fatal(err)
	}
}

const repoA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func hookOf(id string, events ...string) Hook {
	return Hook{ID: strings.Repeat(id, 32), RepoID: repoA, URL: "https://example.com/" + id, Events: events, Secret: []byte("sealed")}
}

var at = time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)

// TestEmitQueuesForHooksThatTakeIt: a push makes a push event and a branch create event; each
// hook gets a delivery of the events it takes, whose body is the stream's.
func TestEmitQueuesForHooksThatTakeIt(t *testing.T) {
	s := openState(t)
	c1 := strings.Repeat("1", 40)
	update(t, s, func(tx *state.Tx) error {
		for _, h := range []Hook{hookOf("a", "push"), hookOf("b", "*"), hookOf("c", "delete")} {
			if err := putHook(tx, h); err != nil {
				return err
			}
		}
		return PushEvents(tx, repoA, "shop", "alice", at, []RefUpdate{{Ref: "refs/heads/main", Old: strings.Repeat("0", 40), New: c1}, {Ref: "refs/notes/x", Old: strings.Repeat("0", 40), New: c1}})
	})
	_ = s.View(func(tx *state.Tx) error {
		ev := Since(tx, 0, 10)
		if len(ev) != 2 || ev[0].Type != TypePush || ev[1].Type != TypeCreate || ev[0].Actor != "alice" || ev[0].Repository.Name != "shop" || !ev[0].Time.Equal(at) {
			t.Fatalf("stream: %+v", ev)
		}
		var p PushPayload
		if err := json.Unmarshal(ev[0].Payload, &p); err != nil || len(p.Refs) != 2 || p.Refs[0].New != c1 {
			t.Fatalf("push payload %s", ev[0].Payload)
		}
		if n := len(hookDeliveryIDs(tx, hookOf("a").ID)); n != 1 {
			t.Fatalf("hook a (push) has %d deliveries, want 1", n)
		}
		if n := len(hookDeliveryIDs(tx, hookOf("b").ID)); n != 2 {
			t.Fatalf("hook b (*) has %d deliveries, want 2", n)
		}
		if n := len(hookDeliveryIDs(tx, hookOf("c").ID)); n != 0 {
			t.Fatalf("hook c (delete) has %d deliveries, want 0", n)
		}
		if q := queuedIDs(tx, 10); len(q) != 3 {
			t.Fatalf("queue %v", q)
		}
		d, _ := getDelivery(tx, hookDeliveryIDs(tx, hookOf("a").ID)[0])
		raw, _ := json.Marshal(ev[0])
		var again Body
		_ = json.Unmarshal(d.Body, &again)
		if d.State != StatePending || d.EventID != ev[0].ID || string(mustJSON(again)) != string(raw) {
			t.Fatalf("delivery %+v, event %s", d, raw)
		}
		return nil
	})
	if err := s.Update(func(tx *state.Tx) error { return Emit(tx, repoA, Event{Type: "pushed"}) }); err == nil {
		t.Fatal("an unknown event type was emitted")
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

// TestBounds: the stream keeps MaxEvents, a hook its last MaxDeliveriesPerHook deliveries
// (the pending ones dropped are counted), and a payload over MaxPayload is replaced.
func TestBounds(t *testing.T) {
	s := openState(t)
	update(t, s, func(tx *state.Tx) error {
		if err := putHook(tx, hookOf("a", "push")); err != nil {
			return err
		}
		for i := 0; i < MaxEvents+5; i++ {
			if err := Emit(tx, repoA, Event{Type: TypePush, Repo: "shop", Time: at, Payload: PushPayload{}}); err != nil {
				return err
			}
		}
		return Emit(tx, repoA, Event{Type: TypePush, Repo: "shop", Time: at, Payload: strings.Repeat("x", MaxPayload+1)})
	})
	_ = s.View(func(tx *state.Tx) error {
		ev := Since(tx, 0, 1)
		if ev[0].ID != "00000000000000000007" {
			t.Fatalf("oldest event kept is %s, want the 7th of %d", ev[0].ID, MaxEvents+6)
		}
		last := Since(tx, MaxEvents+5, 10)
		if len(last) != 1 || !strings.Contains(string(last[0].Payload), `"truncated":true`) {
			t.Fatalf("a too large payload: %+v", last)
		}
		h, _ := getHook(tx, repoA, hookOf("a").ID)
		if n := len(hookDeliveryIDs(tx, h.ID)); n != MaxPendingPerHook || h.Dropped != MaxEvents+6-MaxPendingPerHook {
			t.Fatalf("hook has %d deliveries pending, dropped %d", n, h.Dropped)
		}
		if n := getUint(tx, bucketDeliveries, []byte("queued")); n != MaxPendingPerHook || len(queuedIDs(tx, 2000)) != MaxPendingPerHook {
			t.Fatalf("queued count %d", n)
		}
		return nil
	})
	// Finishing deliveries keeps the hook's last MaxDeliveriesPerHook of them.
	svc := New(nil)
	update(t, s, func(tx *state.Tx) error {
		var rs []AttemptResult
		for _, id := range queuedIDs(tx, MaxDeliveriesPerHook+5) {
			rs = append(rs, AttemptResult{Delivery: id, Attempt: Attempt{Time: at, Status: 204}, Delivered: true})
		}
		_, err := svc.applyAttempts(tx, 1, &command.Command{Time: at}, AttemptsPayload{Results: rs})
		return err
	})
	_ = s.View(func(tx *state.Tx) error {
		h := hookOf("a").ID
		pending := MaxPendingPerHook - MaxDeliveriesPerHook - 5
		if n, f := len(hookDeliveryIDs(tx, h)), len(indexIDs(tx, "hf/"+h+"/")); n != MaxDeliveriesPerHook+pending || f != MaxDeliveriesPerHook {
			t.Fatalf("hook keeps %d deliveries, %d finished", n, f)
		}
		if n := getUint(tx, bucketDeliveries, pendingCountKey(h)); n != uint64(pending) || getUint(tx, bucketDeliveries, []byte("queued")) != uint64(pending) {
			t.Fatalf("pending count %d, want %d", n, pending)
		}
		return nil
	})
}

// TestApplyAttempts: a failed attempt sets the next time, a delivered or given-up delivery
// leaves the queue, an attempt of a delivery no longer pending is ignored, and deleting the
// repository removes its hooks and deliveries.
func TestApplyAttempts(t *testing.T) {
	s := openState(t)
	svc := New(func(*state.Tx, string) (string, error) { return repoA, nil })
	var ids []string
	update(t, s, func(tx *state.Tx) error {
		if err := putHook(tx, hookOf("a", "*")); err != nil {
			return err
		}
		for i := 0; i < 3; i++ {
			if err := Emit(tx, repoA, Event{Type: TypePush, Repo: "shop", Time: at, Payload: PushPayload{}}); err != nil {
				return err
			}
		}
		ids = queuedIDs(tx, 10)
		next := at.Add(time.Minute)
		_, err := svc.applyAttempts(tx, 1, &command.Command{Time: at}, AttemptsPayload{Results: []AttemptResult{
			{Delivery: ids[0], Attempt: Attempt{Time: at, Status: 500, Error: "no"}, Next: next},
			{Delivery: ids[1], Attempt: Attempt{Time: at, Status: 204}, Delivered: true},
			{Delivery: ids[2], Attempt: Attempt{Time: at, Error: "refused"}, GiveUp: true},
		}})
		if err != nil {
			return err
		}
		_, err = svc.applyAttempts(tx, 2, &command.Command{Time: at}, AttemptsPayload{Results: []AttemptResult{{Delivery: ids[1], Attempt: Attempt{Status: 500}}}})
		return err
	})
	_ = s.View(func(tx *state.Tx) error {
		d0, _ := getDelivery(tx, ids[0])
		d1, _ := getDelivery(tx, ids[1])
		d2, _ := getDelivery(tx, ids[2])
		if d0.State != StatePending || !d0.NextAttempt.Equal(at.Add(time.Minute)) || d1.State != StateDelivered || len(d1.Attempts) != 1 || d2.State != StateFailed {
			t.Fatalf("deliveries: %+v\n%+v\n%+v", d0, d1, d2)
		}
		if q := queuedIDs(tx, 10); len(q) != 1 || q[0] != ids[0] || getUint(tx, bucketDeliveries, []byte("queued")) != 1 {
			t.Fatalf("queue %v", q)
		}
		return nil
	})
	update(t, s, func(tx *state.Tx) error { return DeleteRepo(tx, repoA) })
	_ = s.View(func(tx *state.Tx) error {
		if len(repoHooks(tx, repoA)) != 0 || len(queuedIDs(tx, 10)) != 0 || getUint(tx, bucketDeliveries, []byte("queued")) != 0 || tx.Bucket(bucketDeliveries).Get(pendingCountKey(hookOf("a").ID)) != nil {
			t.Fatal("the repository's hooks or deliveries survived its deletion")
		}
		if _, ok := getDelivery(tx, ids[1]); ok {
			t.Fatal("a delivery survived")
		}
		return nil
	})
}
