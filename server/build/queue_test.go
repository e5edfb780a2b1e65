package build

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
)

// fsmCluster is a one-member cluster without Raft: each proposed command is applied to the state
// machine at the next index, so the Go API can be tested with a clock of the test's.
type fsmCluster struct {
	mu      sync.Mutex
	f       *fsm.FSM
	index   uint64
	applied chan command.Type // each command's type once applied, when set (not blocking)
}

func (c *fsmCluster) Apply(_ context.Context, cmd *command.Command) (command.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := command.Encode(cmd)
	if err != nil {
		return command.Result{}, err
	}
	c.index++
	res := c.f.Apply(&raft.Log{Index: c.index, Type: raft.LogCommand, Data: b}).(command.Result)
	select {
	case c.applied <- cmd.Type:
	default:
	}
	return res, nil
}
func (c *fsmCluster) ID() string                                { return "node0" }
func (c *fsmCluster) IsLeader() bool                            { return true }
func (c *fsmCluster) ConsistentRead(context.Context) error      { return nil }
func (c *fsmCluster) AppliedIndex() uint64                      { c.mu.Lock(); defer c.mu.Unlock(); return c.index }
func (c *fsmCluster) WaitApplied(context.Context, uint64) error { return nil }

// fakeSources resolves every version of repository web to commit1.
type fakeSources struct{}

func (fakeSources) Check(_ context.Context, repo string) error {
	if repo != "web" {
		return fault.New(fault.NotFound, "repository %s not found", repo)
	}
	return nil
}

func (fakeSources) Resolve(_ context.Context, repo, version string) (string, error) {
	if repo != "web" || (version != "" && version != "main") {
		return "", fault.New(fault.NotFound, "%s not found", version)
	}
	return commit1, nil
}

func (fakeSources) Archive(context.Context, string, string, io.Writer) error {
	return fault.New(fault.Unavailable, "no archives in this test")
}

// clock is a settable time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// newService is the module over a state machine, with the test's clock.
func newService(t *testing.T) (*Module, *clock) {
	t.Helper()
	m, clk := New(), &clock{now: t0}
	m.Sources = fakeSources{}
	core := &module.Core{}
	reg := module.NewRegistry(fsm.NewTable())
	reg.Add(core, m)
	s, err := state.Open(filepath.Join(t.TempDir(), "state.db"), reg.AllBuckets()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	core.State, core.Now, core.Log = s, clk.Now, log
	core.Cluster = &fsmCluster{f: fsm.New(s, reg.Table(), log)}
	return m, clk
}

// TestExpireQueued: the Go API fills a start from the project (the default buildspec path, the
// overrides), and the leader's sweep ends a build queued past its queued timeout by its clock,
// once, whatever how often it runs.
func TestExpireQueued(t *testing.T) {
	m, clk := newService(t)
	ctx := context.Background()
	if _, err := m.Projects().Create(ctx, "ana", pub.ProjectCreateRequest{Name: "web", Source: pub.ProjectSource{Repository: "web"}, QueuedTimeoutMinutes: 10}); err != nil {
		t.Fatal(err)
	}
	short, err := m.Builds().Start(ctx, "ana", pub.BuildStartRequest{Project: "web", QueuedTimeoutMinutesOverride: 5})
	if err != nil || short.Source.Buildspec != "buildspec.yml" || short.ResolvedSourceVersion != commit1 || short.QueuedTimeoutMinutes != 5 {
		t.Fatalf("start: %+v, %v", short, err)
	}
	long, err := m.Builds().Start(ctx, "ana", pub.BuildStartRequest{Project: "web", SourceVersion: "main"})
	if err != nil || long.QueuedTimeoutMinutes != 10 {
		t.Fatalf("start: %+v, %v", long, err)
	}
	if _, err := m.Builds().Start(ctx, "ana", pub.BuildStartRequest{Project: "web", SourceVersion: "nope"}); fault.CodeOf(err) != fault.NotFound {
		t.Fatalf("a start of a missing version: %v", err)
	}
	clk.Set(t0.Add(5*time.Minute - time.Second))
	if n, err := m.Builds().ExpireQueued(ctx); n != 0 || err != nil {
		t.Fatalf("a sweep before any deadline ended %d builds (%v)", n, err)
	}
	clk.Set(t0.Add(5 * time.Minute))
	if n, err := m.Builds().ExpireQueued(ctx); n != 1 || err != nil {
		t.Fatalf("the sweep at the short deadline ended %d builds (%v)", n, err)
	}
	if n, _ := m.Builds().ExpireQueued(ctx); n != 0 {
		t.Fatalf("a second sweep ended %d builds", n)
	}
	if b, _ := m.Builds().Get(ctx, short.ID); b.Status != pub.BuildTimedOut || b.Phases[1].Status != pub.BuildTimedOut {
		t.Fatalf("the short build: %+v", b)
	}
	if b, _ := m.Builds().Get(ctx, long.ID); b.Status != pub.BuildQueued {
		t.Fatalf("the long build: %+v", b)
	}

	// The leader task sweeps at its interval until its leadership ends.
	applied := make(chan command.Type, 16)
	m.core.Cluster.(*fsmCluster).applied = applied
	m.ExpiryInterval = 5 * time.Millisecond
	tctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	clk.Set(t0.Add(10 * time.Minute))
	go func() { m.expireQueued(tctx); close(done) }()
	select {
	case typ := <-applied:
		if typ != cmdQueueTimeout.Type() {
			t.Fatalf("the leader task proposed command %d", typ)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the leader task proposed nothing")
	}
	if b, _ := m.Builds().Get(ctx, long.ID); b.Status != pub.BuildTimedOut {
		t.Fatalf("the long build after the leader's sweep: %+v", b)
	}
	cancel()
	<-done
}
