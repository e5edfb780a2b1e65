package fleet_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/fleet"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/state"
)

// cluster is a one-node cluster for the tests: it applies each command as the next log entry of
// a real state machine with the core's commands, over a fresh state.
type cluster struct {
	t     *testing.T
	mu    sync.Mutex
	f     *fsm.FSM
	store *state.Store
	idx   uint64
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	s, err := state.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &cluster{t: t, f: fsm.New(s, fsm.NewTable(), slog.New(slog.NewTextHandler(io.Discard, nil))), store: s}
}

// Apply implements command.Proposer.
func (c *cluster) Apply(_ context.Context, cmd *command.Command) (command.Result, error) {
	b, err := command.Encode(cmd)
	if err != nil {
		return command.Result{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.idx++
	r, ok := c.f.Apply(&raft.Log{Index: c.idx, Type: raft.LogCommand, Data: b}).(command.Result)
	if !ok {
		c.t.Fatal("the FSM did not answer with a command.Result")
	}
	return r, nil
}

// propose applies a core command the test needs as a precondition; it must succeed.
func propose[T any](c *cluster, d command.Def[T], at time.Time, p T) {
	c.t.Helper()
	if _, err := command.Propose(context.Background(), c, d, at, p); err != nil {
		c.t.Fatalf("%s: %v", d.Name(), err)
	}
}

// clock is a settable clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var t0 = time.Unix(1700000000, 0).UTC()

func hash(c byte) string { return strings.Repeat(string(c), 64) }

// register registers host id (named name) with the registration token "tok", creating it first
// if it is not there.
func (c *cluster) register(id, name string, tags map[string]string) {
	c.t.Helper()
	var have bool
	_ = c.store.View(func(tx *state.Tx) error { _, err := tx.HostTokens().Get("tok"); have = err == nil; return nil })
	if !have {
		propose(c, command.HostTokenCreateCmd, t0, command.HostTokenCreate{AccessorID: "tok", SecretHash: hash('t')})
	}
	propose(c, command.HostRegisterCmd, t0, command.HostRegister{HostID: id, SecretHash: hash(id[len(id)-1]), Name: name, Tags: tags, Token: "tok"})
}

func newHosts(c *cluster, clk *clock) *fleet.Hosts {
	return &fleet.Hosts{Cluster: c, State: c.store, Now: clk.now, Timeout: time.Minute}
}

func newTokens(c *cluster, clk *clock) *fleet.RegistrationTokens {
	return &fleet.RegistrationTokens{Cluster: c, State: c.store, Now: clk.now, CAPin: "sha256:pin"}
}

// wantFault checks err is a fault with code and a message containing msg.
func wantFault(t *testing.T, err error, code fault.Code, msg string) {
	t.Helper()
	if fault.CodeOf(err) != code || !strings.Contains(err.Error(), msg) {
		t.Fatalf("error %v (%s), want %s containing %q", err, fault.CodeOf(err), code, msg)
	}
}
