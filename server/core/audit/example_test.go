package audit_test

import (
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/slipwayhq/slipway/server/core/audit"
)

// records yields a stored slice in sequence order, as a state reader would.
func records(rs []audit.Record) iter.Seq2[audit.Record, error] {
	return func(yield func(audit.Record, error) bool) {
		for _, r := range rs {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// The way an FSM keeps a trail: resume the chain from the anchor and head saved in the state,
// append with the command's time, trim by retention, and verify what is kept.
func Example() {
	chain, _ := audit.Resume(audit.Anchor{}, audit.Anchor{}) // a new trail
	var stored []audit.Record
	start := time.Date(2026, time.November, 30, 23, 0, 0, 0, time.UTC)
	for i, who := range []string{"alice", "bob", "alice", "ci"} {
		stored = append(stored, chain.Append(audit.Record{
			Time:      start.Add(time.Duration(i) * time.Hour), // from the command, never a clock
			Principal: audit.Principal{Kind: audit.KindUser, ID: "u-" + who, Name: who},
			Action:    "codedeploy:CreateDeployment",
			Resource:  "srn:slipway:codedeploy:app/shop",
			Outcome:   audit.OutcomeAllowed,
		}))
	}

	// Retention: trim what is older than the cutoff, then verify from the new anchor.
	last, ok, _ := audit.TrimPoint(records(stored), start.Add(90*time.Minute), 0)
	if ok {
		_ = chain.Trim(last)
		stored = stored[last.Seq-stored[0].Seq+1:]
	}
	fmt.Println("kept", chain.Len(), "records after", chain.Anchor().Seq)
	fmt.Println("verify:", audit.VerifyTo(chain.Anchor(), chain.Head(), records(stored)))

	// An edited record is named.
	stored[1].Principal.Name = "mallory"
	err := audit.VerifyTo(chain.Anchor(), chain.Head(), records(stored))
	var bad *audit.Error
	if errors.As(err, &bad) {
		fmt.Println(bad.Seq, bad.Problem, "-", err)
	}

	month, _ := audit.ParseMonth("2026-12")
	users, _ := audit.ActiveUsers(records(stored), month)
	for _, u := range users {
		fmt.Println(month, u.Principal.Name, u.Requests)
	}
	// Output:
	// kept 2 records after 2
	// verify: <nil>
	// 4 edited - audit record 4 was edited: its hash does not match its contents
	// 2026-12 alice 1
	// 2026-12 mallory 1
}
