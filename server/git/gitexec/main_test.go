package gitexec

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/slipwayhq/slipway/server/git/gitproto"
)

// TestMain lets the test binary be the proc-receive hook: the hook script the push tests
// write execs this binary with SLIPWAY_TEST_HOOK=proc-receive in the environment that
// receive-pack passes on, so the hook side of the protocol is gitproto's own code.
func TestMain(m *testing.M) {
	if os.Getenv("SLIPWAY_TEST_HOOK") == "proc-receive" {
		os.Exit(procReceiveHook())
	}
	os.Exit(m.Run())
}

// quorumReason is a rejection reason of Slipway's own.
const quorumReason = "no quorum: the push was not stored, push again"

// hookRecord is what the test hook saw, written to $SLIPWAY_TEST_DIR/proc-receive.json.
type hookRecord struct {
	Atomic      bool
	Commands    []gitproto.Command
	PushOptions []string
	Quarantine  string // GIT_QUARANTINE_PATH as the hook saw it
}

// procReceiveHook answers receive-pack as $SLIPWAY_TEST_MODE says:
//
//	ng        every ref "ng REF fetch first"
//	ng-quorum every ref "ng REF no quorum: ..." (a reason git's client does not know)
//	ng-b      refs/heads/b "ng ... fetch first", the others ok (Respond applies --atomic)
//	raw-ng-b  the same written by hand, without Respond's atomic rule: what git itself does
//	ok        every ref "ok" without moving it
//	move      every ref moved with git update-ref (compare-and-swap on the old value), then ok
func procReceiveHook() int {
	p, err := gitproto.ReadProcReceive(os.Stdin, os.Stdout, gitproto.ReceiveLimits{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "test proc-receive:", err)
		return 1
	}
	rec, _ := json.Marshal(hookRecord{Atomic: p.Atomic(), Commands: p.Commands, PushOptions: p.PushOptions, Quarantine: os.Getenv("GIT_QUARANTINE_PATH")})
	if err := os.WriteFile(os.Getenv("SLIPWAY_TEST_DIR")+"/proc-receive.json", rec, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "test proc-receive:", err)
		return 1
	}
	mode := os.Getenv("SLIPWAY_TEST_MODE")
	var results []gitproto.Result
	for _, c := range p.Commands {
		r := gitproto.Result{Ref: c.Ref}
		switch mode {
		case "ng":
			r.Reason = "fetch first"
		case "ng-quorum":
			r.Reason = quorumReason
		case "ng-b", "raw-ng-b":
			if c.Ref == "refs/heads/b" {
				r.Reason = "fetch first"
			}
		case "move":
			args := []string{"update-ref", c.Ref, c.New, c.Old}
			if c.IsDelete() {
				args = []string{"update-ref", "-d", c.Ref, c.Old}
			}
			if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
				r.Reason = "update-ref failed: " + string(out)
			}
		}
		results = append(results, r)
	}
	if mode == "raw-ng-b" {
		w := gitproto.NewWriter(os.Stdout)
		for _, r := range results {
			line := "ok " + r.Ref
			if r.Reason != "" {
				line = "ng " + r.Ref + " " + r.Reason
			}
			_ = w.Line(line)
		}
		_ = w.Flush()
		return 0
	}
	if err := p.Respond(os.Stdout, results); err != nil {
		fmt.Fprintln(os.Stderr, "test proc-receive:", err)
		return 1
	}
	return 0
}
