package deploy

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
)

// testFSM is a state machine with the core's commands and this service's, as a server
// registers them, over a fresh state.
type testFSM struct {
	t   *testing.T
	f   *fsm.FSM
	idx uint64
}

func newFSM(t *testing.T) *testFSM {
	t.Helper()
	table := fsm.NewTable()
	reg := module.NewRegistry(table)
	reg.Add(&module.Core{}, New())
	s, err := state.OpenIndexed(filepath.Join(t.TempDir(), "state.db"), reg.AllBuckets(), reg.AllIndexes())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &testFSM{t: t, f: fsm.New(s, table, slog.New(slog.NewTextHandler(io.Discard, nil)))}
}

// apply applies c as the next log entry and returns its result.
func (tf *testFSM) apply(c *command.Command, err error) command.Result {
	tf.t.Helper()
	if err != nil {
		tf.t.Fatal(err)
	}
	b, err := command.Encode(c)
	if err != nil {
		tf.t.Fatal(err)
	}
	tf.idx++
	r, ok := tf.f.Apply(&raft.Log{Index: tf.idx, Type: raft.LogCommand, Data: b}).(command.Result)
	if !ok {
		tf.t.Fatal("the FSM did not answer with a command.Result")
	}
	return r
}

var testTime = time.Unix(1700000000, 0)

// legacy builds a command by number with a JSON payload: the app, revision and host commands a
// deployment needs, however their payload types are spelled in this build.
func legacy(typ command.Type, payload any) (*command.Command, error) {
	return command.New(typ, "", testTime, payload)
}

// setUp creates app web with revision r1 and host h1 (host-1).
func (tf *testFSM) setUp() {
	tf.t.Helper()
	blob := strings.Repeat("a", 64)
	for _, c := range []struct {
		typ command.Type
		p   any
	}{
		{20, map[string]any{"name": "web"}},
		{30, map[string]any{"sha256": blob, "size": 1}},
		{40, map[string]any{"id": "r1", "app": "web", "sha256": blob, "size": 1, "format": "tar"}},
		{50, map[string]any{"accessor_id": "tok", "secret_hash": strings.Repeat("t", 64)}},
		{51, map[string]any{"host_id": "h1", "secret_hash": strings.Repeat("b", 64), "name": "host-1", "token_accessor": "tok"}},
	} {
		if r := tf.apply(legacy(c.typ, c.p)); r.Code != "" {
			tf.t.Fatalf("%s: %s %s", c.typ, r.Code, r.Message)
		}
	}
}

// deployment reads a deployment's record.
func (tf *testFSM) deployment(id string) Deployment {
	tf.t.Helper()
	var d Deployment
	err := tf.f.Store().View(func(tx *state.Tx) error {
		var err error
		d, err = getDeployment(tx, id)
		return err
	})
	if err != nil {
		tf.t.Fatal(err)
	}
	return d
}

// records converts agent events to the records a report carries, as the session does.
func records(evs ...agentproto.Event) []ReportEvent {
	out := make([]ReportEvent, len(evs))
	for i, ev := range evs {
		out[i] = eventRecord(ev)
	}
	return out
}
