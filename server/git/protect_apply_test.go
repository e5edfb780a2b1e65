package git

import (
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// TestApplyProtection: apply rejects the refs the proposer refused with its reason (an atomic
// push then applies nothing, the audit detail names the reason), re-checks the rules that need
// no git (deletion, require-pr) against the state as it applies, and bounds the rules.
func TestApplyProtection(t *testing.T) {
	a := newApplier(t)
	r, err := a.create("app")
	if err != nil {
		t.Fatal(err)
	}
	c1, c2 := strings.Repeat("1", 40), strings.Repeat("2", 40)
	if out, err := a.push(PushPayload{ID: r.ID, Updates: []PushUpdate{{Ref: "refs/heads/main", Old: zeroID, New: c1}, {Ref: "refs/heads/dev", Old: zeroID, New: c1}}}); err != nil || !out[0].OK || !out[1].OK {
		t.Fatalf("first push: %+v, %v", out, err)
	}
	protect := func(rule Protection) error {
		return a.apply(cmdProtect.New("", t0, ProtectPayload{Name: "app", Rule: rule})).Err()
	}
	if err := protect(Protection{Pattern: "main", NoDelete: true, RequirePR: true}); err != nil {
		t.Fatal(err)
	}
	// A refusal the proposer made, in an atomic push: nothing applies.
	refusedPush := PushPayload{ID: r.ID, Atomic: true, ViaPullRequest: true,
		Updates: []PushUpdate{{Ref: "refs/heads/main", Old: c1, New: c2}, {Ref: "refs/heads/dev", Old: c1, New: c2}},
		Refused: map[string]string{"refs/heads/main": "protected branch main: force pushes are not allowed"}}
	res := a.apply(cmdPush.New("", t0, refusedPush))
	out, err := command.Data[PushResult](res)
	if err != nil || out.Results[0].Reason != "protected branch main: force pushes are not allowed" || out.Results[1].Reason != reasonAtomic {
		t.Fatalf("atomic push with a refused ref: %+v, %v", out, err)
	}
	if d := pushDetail(refusedPush, out.Results); !strings.Contains(d, "rejected (protected branch main: force pushes are not allowed)") {
		t.Fatalf("audit detail %q does not name the refusal", d)
	}
	// Rules of the state, re-checked in apply: require-pr, then deletion.
	out2, err := a.push(PushPayload{ID: r.ID, Updates: []PushUpdate{{Ref: "refs/heads/main", Old: c1, New: c2}, {Ref: "refs/heads/dev", Old: c1, New: c2}}})
	if err != nil || out2[0].OK || !strings.Contains(out2[0].Reason, "protected branch main: changes must go through a pull request") || !out2[1].OK {
		t.Fatalf("a push to a require-pr branch: %+v, %v", out2, err)
	}
	out2, err = a.push(PushPayload{ID: r.ID, ViaPullRequest: true, Updates: []PushUpdate{{Ref: "refs/heads/main", Old: c1, New: zeroID}}})
	if err != nil || out2[0].OK || out2[0].Reason != "protected branch main: deleting it is not allowed" {
		t.Fatalf("a deletion: %+v, %v", out2, err)
	}
	if out2, err = a.push(PushPayload{ID: r.ID, ViaPullRequest: true, Updates: []PushUpdate{{Ref: "refs/heads/main", Old: c1, New: c2}}}); err != nil || !out2[0].OK {
		t.Fatalf("a pull request's move: %+v, %v", out2, err)
	}
	// Bounds and input.
	if err := protect(Protection{Pattern: "x"}); fault.CodeOf(err) != fault.Invalid {
		t.Fatalf("an empty rule: %v", err)
	}
	for i := 1; i < MaxProtections; i++ {
		if err := protect(Protection{Pattern: "b" + strings.Repeat("x", i), NoDelete: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := protect(Protection{Pattern: "one-more", NoDelete: true}); fault.CodeOf(err) != fault.Conflict || !strings.Contains(err.Error(), "maximum of 50") {
		t.Fatalf("a rule over the bound: %v", err)
	}
	if err := protect(Protection{Pattern: "main", NoForcePush: true}); err != nil {
		t.Fatalf("replacing a rule at the bound: %v", err)
	}
	if err := a.apply(cmdUnprotect.New("", t0, UnprotectPayload{Name: "app", Pattern: "nope"})).Err(); fault.CodeOf(err) != fault.NotFound {
		t.Fatalf("removing an unknown rule: %v", err)
	}
	// Deleting the repository removes its rules and statuses.
	if err := a.apply(cmdStatus.New("", t0, StatusPayload{Name: "app", Commit: c1, State: StateSuccess, Context: "ci"})).Err(); err != nil {
		t.Fatal(err)
	}
	if err := a.apply(cmdDelete.New("", t0, DeletePayload{Name: "app"})).Err(); err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{bucketProtect, bucketStatuses, bucketStatusAge, bucketStatusMeta} {
		if n := countKeys(t, a, b); n != 0 {
			t.Errorf("bucket %s holds %d keys after the repository was deleted", b, n)
		}
	}
}

// TestApplyStatusesDropOldest: a repository at its status bound drops its oldest status
// (by sequence) for a new one, the same on every server.
func TestApplyStatusesDropOldest(t *testing.T) {
	statusesPerRepo = 5
	t.Cleanup(func() { statusesPerRepo = MaxStatusesPerRepo })
	a := newApplier(t)
	if _, err := a.create("app"); err != nil {
		t.Fatal(err)
	}
	commits := []string{strings.Repeat("a", 40), strings.Repeat("b", 40)}
	for i := range 7 {
		p := StatusPayload{Name: "app", Commit: commits[i%2], State: StatePending, Context: "ci/" + string(rune('0'+i))}
		if err := a.apply(cmdStatus.New("", t0, p)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if n := countKeys(t, a, bucketStatuses); n != 5 {
		t.Fatalf("%d statuses kept, want 5", n)
	}
	var got []string
	for _, c := range commits {
		err := a.s.View(func(tx *state.Tx) error {
			r, err := mustNamed(tx, "app")
			if err != nil {
				return err
			}
			list, err := commitStatuses(tx, r.ID, c)
			for _, s := range list {
				got = append(got, s.Context)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// ci/0 (a) and ci/1 (b) were the oldest.
	if strings.Join(got, " ") != "ci/2 ci/4 ci/6 ci/3 ci/5" {
		t.Fatalf("statuses kept: %v", got)
	}
}

func countKeys(t *testing.T, a *applier, bucket []byte) int {
	t.Helper()
	n := 0
	err := a.s.View(func(tx *state.Tx) error {
		c := tx.Bucket(bucket).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
