package console

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/server/core/audit"
)

// TestVerifyShown: the records a page shows (newest first) verify as slipway audit verify would
// check them: an intact page passes, filtered or not; an edited record, a record dropped from an
// unfiltered page and a head that is not the newest record shown fail with the trail's words.
func TestVerifyShown(t *testing.T) {
	c := audit.NewChain()
	var recs []audit.Record
	for i := range 5 {
		recs = append([]audit.Record{c.Append(audit.Record{Time: time.Unix(int64(i), 0).UTC(), Action: "iam:GetUser", Outcome: audit.OutcomeAllowed})}, recs...)
	}
	head := c.Head()
	if err := verifyShown(recs, false, true, head); err != nil {
		t.Fatalf("intact page: %v", err)
	}
	if err := verifyShown([]audit.Record{recs[0], recs[3]}, true, true, head); err != nil {
		t.Fatalf("intact filtered page: %v", err)
	}
	check := func(name string, err error, words string) {
		t.Helper()
		if !errors.Is(err, audit.ErrBroken) || !strings.Contains(err.Error(), words) {
			t.Errorf("%s: %v; want an audit.Error saying %q", name, err, words)
		}
	}
	edited := append([]audit.Record(nil), recs...)
	edited[2].Action = "iam:DeleteUser"
	check("edited", verifyShown(edited, false, true, head), "was edited")
	check("edited, filtered", verifyShown(edited[1:3], true, false, head), "was edited")
	check("dropped", verifyShown([]audit.Record{recs[0], recs[1], recs[3], recs[4]}, false, true, head), "is missing")
	other := head
	other.Hash[0] ^= 1
	check("not the head", verifyShown(recs, false, true, other), "does not match the trail's head")
}
