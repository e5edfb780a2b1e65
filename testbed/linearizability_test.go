//go:build testbed

package testbed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/slipwayhq/slipway/pkg/api"
)

// The linearizability check: concurrent clients create, update (with check-and-set on the modify
// index) and read a few applications through all three servers while the leader is cut off,
// killed and a follower is paused. The history they record is checked with porcupine against a
// sequential model of one application, so any stale read, lost acknowledged update, update that
// wins against a stale index, or double create fails the test.
//
// What a client could not know is recorded as such: a write that timed out, lost its connection
// or was answered 5xx (no leader, leadership lost, unavailable) may or may not have been applied,
// so it is an operation whose return is unknown (it may take effect at any point after its call,
// or never). A refused write (409, 404, 400) is a definite answer. A failed read is left out: it
// changed nothing and showed nothing.

// linOp is the input of one operation on one application (the porcupine partition key).
type linOp struct {
	Kind  string // "create", "update" or "read"
	Key   string
	Value string // the description written; every write writes a value no other write uses
	CAS   uint64 // update precondition on the modify index; 0 for an unconditional update
}

// linResult is what the client learnt.
type linResult struct {
	Unknown  bool   // the write's outcome is unknown
	OK       bool   // acknowledged (for a read: the application exists)
	Conflict bool   // create: the name exists; update: the precondition failed
	NotFound bool   // update or read: no such application
	Value    string // read: the description; write: what was written
	Index    uint64 // the modify index read, or given to an acknowledged write
}

// linState is the model's state of one application. Index 0 while Exists means the index is not
// known: the last write was one whose outcome the client did not learn.
type linState struct {
	Exists bool
	Value  string
	Index  uint64
}

// appModel is the sequential specification of one application under create, check-and-set
// update and consistent read. It is nondeterministic only where the history cannot tell: an
// update of unknown outcome against an unknown index may or may not have matched.
var appModel = porcupine.NondeterministicModel{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(linOp).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() []any { return []any{linState{}} },
	Step: func(st, in, out any) []any {
		s, op, r := st.(linState), in.(linOp), out.(linResult)
		switch op.Kind {
		case "create":
			switch {
			case r.Unknown:
				if s.Exists {
					return []any{s} // refused, whenever it ran
				}
				return []any{linState{Exists: true, Value: op.Value}}
			case r.OK:
				if s.Exists {
					return nil
				}
				return []any{linState{Exists: true, Value: op.Value, Index: r.Index}}
			case r.Conflict:
				if !s.Exists {
					return nil
				}
				return []any{s}
			}
		case "update":
			matches := s.Exists && (op.CAS == 0 || s.Index == op.CAS)
			mayMatch := s.Exists && (op.CAS == 0 || s.Index == op.CAS || s.Index == 0)
			switch {
			case r.Unknown:
				switch {
				case !s.Exists:
					return []any{s}
				case matches:
					return []any{linState{Exists: true, Value: op.Value}}
				case mayMatch:
					return []any{s, linState{Exists: true, Value: op.Value}}
				}
				return []any{s}
			case r.OK:
				if !mayMatch || r.Index <= s.Index {
					return nil
				}
				return []any{linState{Exists: true, Value: op.Value, Index: r.Index}}
			case r.Conflict:
				if !s.Exists || op.CAS == 0 || s.Index == op.CAS {
					return nil
				}
				return []any{s}
			case r.NotFound:
				if s.Exists {
					return nil
				}
				return []any{s}
			}
		case "read":
			switch {
			case r.OK:
				if !s.Exists || r.Value != s.Value || (s.Index != 0 && r.Index != s.Index) {
					return nil
				}
				return []any{linState{Exists: true, Value: s.Value, Index: r.Index}}
			case r.NotFound:
				if s.Exists {
					return nil
				}
				return []any{s}
			}
		}
		return nil
	},
	DescribeOperation: func(in, out any) string {
		op, r := in.(linOp), out.(linResult)
		var res string
		switch {
		case r.Unknown:
			res = "unknown"
		case r.Conflict:
			res = "conflict"
		case r.NotFound:
			res = "not found"
		case op.Kind == "read":
			res = fmt.Sprintf("%q @%d", r.Value, r.Index)
		default:
			res = fmt.Sprintf("ok @%d", r.Index)
		}
		switch op.Kind {
		case "create":
			return fmt.Sprintf("create(%s, %q) -> %s", op.Key, op.Value, res)
		case "update":
			return fmt.Sprintf("update(%s, %q, cas %d) -> %s", op.Key, op.Value, op.CAS, res)
		}
		return fmt.Sprintf("read(%s) -> %s", op.Key, res)
	},
	DescribeState: func(st any) string {
		s := st.(linState)
		if !s.Exists {
			return "absent"
		}
		if s.Index == 0 {
			return fmt.Sprintf("%q @?", s.Value)
		}
		return fmt.Sprintf("%q @%d", s.Value, s.Index)
	},
}

// linClient records operations through one server.
type linClient struct {
	id     int
	server int
	cl     *api.Client
	rng    *rand.Rand
	seen   map[string]uint64 // key -> the last modify index this client saw
	seq    int
	// leftOut are the writes left out of the history as definitely not applied, with the error
	// that said so: logged when the history is not linearizable.
	leftOut []string
}

// linHistory is the shared history; times are nanoseconds since the test's start.
type linHistory struct {
	start time.Time
	mu    sync.Mutex
	ops   []porcupine.Operation
	acked map[string]bool // keys with an acknowledged create
}

func (h *linHistory) add(client int, in linOp, call time.Time, out linResult) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ret := time.Since(h.start).Nanoseconds()
	if out.Unknown {
		ret = -1 // fixed up in finish: after every other operation
	}
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: call.Sub(h.start).Nanoseconds(), Output: out, Return: ret})
	if in.Kind == "create" && out.OK {
		h.acked[in.Key] = true
	}
}

// finish returns the history with every unknown outcome returning after all other operations.
func (h *linHistory) finish() []porcupine.Operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	var last int64
	for _, op := range h.ops {
		last = max(last, op.Return, op.Call)
	}
	out := append([]porcupine.Operation(nil), h.ops...)
	for i := range out {
		if out[i].Return < 0 {
			out[i].Return = last + 1
		}
	}
	return out
}

// step runs one random operation and records it. It reports whether the outcome was unknown.
// A write that failed definitely without being applied (a refused connection) is left out.
func (c *linClient) step(h *linHistory, keys []string, timeout time.Duration) (unknown bool) {
	key := keys[c.rng.IntN(len(keys))]
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	call := time.Now()
	switch p := c.rng.IntN(10); {
	case p < 4:
		a, err := c.cl.AppGet(ctx, key, &api.QueryOptions{Consistent: true})
		switch {
		case err == nil:
			c.seen[key] = a.ModifyIndex
			h.add(c.id, linOp{Kind: "read", Key: key}, call, linResult{OK: true, Value: a.Description, Index: a.ModifyIndex})
		case api.IsNotFound(err):
			h.add(c.id, linOp{Kind: "read", Key: key}, call, linResult{NotFound: true})
		}
	case p < 5:
		c.seq++
		in := linOp{Kind: "create", Key: key, Value: fmt.Sprintf("c%d-%d", c.id, c.seq)}
		a, err := c.cl.AppCreate(ctx, api.AppCreateRequest{Name: key, Description: in.Value})
		return c.recordWrite(h, in, call, a, err)
	default:
		c.seq++
		in := linOp{Kind: "update", Key: key, Value: fmt.Sprintf("c%d-%d", c.id, c.seq)}
		if c.rng.IntN(5) > 0 {
			in.CAS = c.seen[key] // 0 (unconditional) until this client has seen the key
		}
		a, err := c.cl.AppUpdate(ctx, key, api.AppUpdateRequest{Description: in.Value}, in.CAS)
		return c.recordWrite(h, in, call, a, err)
	}
	return false
}

// recordWrite records what a create or update answered and reports whether its outcome is
// unknown. A write that failed definitely without being applied is left out.
func (c *linClient) recordWrite(h *linHistory, in linOp, call time.Time, a *api.App, err error) bool {
	switch {
	case err == nil:
		c.seen[in.Key] = a.ModifyIndex
		h.add(c.id, in, call, linResult{OK: true, Value: in.Value, Index: a.ModifyIndex})
	case api.IsConflict(err):
		h.add(c.id, in, call, linResult{Conflict: true})
	case api.IsNotFound(err):
		h.add(c.id, in, call, linResult{NotFound: true})
	case api.Indeterminate(err):
		h.add(c.id, in, call, linResult{Unknown: true})
		return true
	default:
		c.leftOut = append(c.leftOut, fmt.Sprintf("client %d %s(%s, %q): %v", c.id, in.Kind, in.Key, in.Value, err))
	}
	return false
}

// TestLinearizableUnderFaults runs 12 clients (four per server) over eight applications while the
// leader is cut off the cluster network and healed, the next leader's process is killed with
// SIGKILL and restarted, and a follower is paused and resumed; then each client reads every key
// once more, and the whole history is checked for linearizability. On failure the porcupine
// visualisation is written to a file the failure names.
func TestLinearizableUnderFaults(t *testing.T) {
	b := newBed(t, bedOptions{})
	keys := []string{"lin-a", "lin-b", "lin-c", "lin-d", "lin-e", "lin-f", "lin-g", "lin-h"}
	h := &linHistory{start: time.Now(), acked: map[string]bool{}}
	const perServer = 4
	var clients []*linClient
	for i := range len(b.servers) * perServer {
		srv := i % len(b.servers)
		clients = append(clients, &linClient{id: i, server: srv, cl: b.ClientWith(srv, 2*time.Second),
			rng: rand.New(rand.NewPCG(uint64(i), uint64(h.start.UnixNano()))), seen: map[string]uint64{}})
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				pause := time.Duration(10+c.rng.IntN(30)) * time.Millisecond
				if c.step(h, keys, 5*time.Second) {
					// Every operation of unknown outcome stays open to the end of the history
					// and multiplies the checker's work: a client that met one backs off, as a
					// crashed client would be restarted.
					pause = time.Second
				}
				time.Sleep(pause) // pacing, not a wait for a condition
			}
		}()
	}
	t.Cleanup(func() { stop.Store(true); wg.Wait() })

	ops := func() int { h.mu.Lock(); defer h.mu.Unlock(); return len(h.ops) }
	waitOps := func(n int, what string) {
		target := ops() + n
		eventually(t, 60*time.Second, what, func() error {
			if got := ops(); got < target {
				return fmt.Errorf("%d of %d operations", got, target)
			}
			return nil
		})
	}
	var faults []string
	waitOps(500, "operations before the faults")

	// 1. The leader is cut off its peers; clients still reach it.
	leader := b.WaitLeader(30*time.Second, b.all())
	cutAt := time.Now()
	b.servers[leader].Disconnect(b.cluster)
	faults = append(faults, "cut "+b.servers[leader].id)
	eventually(t, 30*time.Second, "the majority elects a new leader", func() error {
		_, err := b.leaderAmong(without(b.all(), leader))
		return err
	})
	waitOps(500, "operations while the old leader is cut off")
	b.servers[leader].Connect(b.cluster)
	recoverCut := time.Since(cutAt)

	// 2. The current leader's process is killed and started again.
	leader = b.WaitLeader(60*time.Second, b.all())
	b.servers[leader].KillProcess()
	faults = append(faults, "kill -9 "+b.servers[leader].id)
	eventually(t, 30*time.Second, "the survivors elect a new leader", func() error {
		_, err := b.leaderAmong(without(b.all(), leader))
		return err
	})
	waitOps(500, "operations while a server is down")
	b.servers[leader].RestartProcess()
	b.WaitHTTP(leader, 30*time.Second)

	// 3. A follower freezes and resumes.
	leader = b.WaitLeader(60*time.Second, b.all())
	follower := without(b.all(), leader)[0]
	b.servers[follower].Pause()
	faults = append(faults, "pause "+b.servers[follower].id)
	waitOps(500, "operations while a follower is paused")
	b.servers[follower].Unpause()
	b.WaitLeader(60*time.Second, b.all())
	waitOps(500, "operations after the faults")

	stop.Store(true)
	wg.Wait()
	// Every client reads every key once more, through its own server.
	for _, c := range clients {
		for _, k := range keys {
			call := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			a, err := c.cl.AppGet(ctx, k, &api.QueryOptions{Consistent: true})
			cancel()
			switch {
			case err == nil:
				h.add(c.id, linOp{Kind: "read", Key: k}, call, linResult{OK: true, Value: a.Description, Index: a.ModifyIndex})
			case api.IsNotFound(err):
				h.add(c.id, linOp{Kind: "read", Key: k}, call, linResult{NotFound: true})
				if h.acked[k] {
					t.Errorf("%s: acknowledged create of %s is missing through %s", k, k, b.servers[c.server].id)
				}
			default:
				t.Errorf("final read of %s through %s: %v", k, b.servers[c.server].id, err)
			}
		}
	}

	history := h.finish()
	var acked, unknown, conflicts int
	for _, op := range history {
		r := op.Output.(linResult)
		if op.Input.(linOp).Kind == "read" {
			continue
		}
		switch {
		case r.Unknown:
			unknown++
		case r.OK:
			acked++
		case r.Conflict:
			conflicts++
		}
	}
	checkStart := time.Now()
	model := appModel.ToModel()
	res, info := porcupine.CheckOperationsVerbose(model, history, 2*time.Minute)
	checkTook := time.Since(checkStart)
	t.Logf("history: %d operations (%d acknowledged writes, %d refused, %d of unknown outcome); porcupine: %s in %s",
		len(history), acked, conflicts, unknown, res, checkTook.Round(time.Millisecond))
	lost := 0
	switch res {
	case porcupine.Ok:
	case porcupine.Illegal:
		lost = 1 // at least one acknowledged operation is not reflected as it should be
		t.Errorf("the history is not linearizable: %s; %s", writeVisualization(t, model, info), writeFailingKeys(t, model, history))
		for _, c := range clients {
			for _, l := range c.leftOut {
				t.Logf("left out as not applied: %s", l)
			}
		}
	default:
		t.Errorf("porcupine could not decide within its time limit (%s); the history is too concurrent to check: %s", res,
			writeVisualization(t, model, info))
	}
	addReport(t, reportRow{Scenario: "linearizability", Faults: strings.Join(faults, ", "),
		Acknowledged: acked, Lost: lost, Unknown: unknown, Recover: recoverCut})
}

// writeFailingKeys checks each application's history on its own and writes the ones that are not
// linearizable as text, one operation a line in call order, next to the visualisation.
func writeFailingKeys(t *testing.T, model porcupine.Model, history []porcupine.Operation) string {
	var sb strings.Builder
	for _, part := range model.Partition(history) {
		if porcupine.CheckOperations(model, part) {
			continue
		}
		sort.Slice(part, func(i, j int) bool { return part[i].Call < part[j].Call })
		fmt.Fprintf(&sb, "== %s: not linearizable (%d operations; times in ms since the start)\n", part[0].Input.(linOp).Key, len(part))
		for _, op := range part {
			fmt.Fprintf(&sb, "%10.3f %10.3f  client %2d  %s\n", float64(op.Call)/1e6, float64(op.Return)/1e6, op.ClientId,
				model.DescribeOperation(op.Input, op.Output))
		}
	}
	path := filepath.Join(logDir(), fmt.Sprintf("slipway-linearizability-%s.txt", runID))
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		return fmt.Sprintf("could not write the failing histories: %v", err)
	}
	return "the failing histories are in " + path
}

func logDir() string {
	if dir := os.Getenv("TESTBED_LOG_DIR"); dir != "" {
		_ = os.MkdirAll(dir, 0o755)
		return dir
	}
	return os.TempDir()
}

// writeVisualization writes porcupine's HTML visualisation of info where it outlives the test
// (TESTBED_LOG_DIR, or the temporary directory) and says where.
func writeVisualization(t *testing.T, model porcupine.Model, info porcupine.LinearizationInfo) string {
	path := filepath.Join(logDir(), fmt.Sprintf("slipway-linearizability-%s.html", runID))
	if err := porcupine.VisualizePath(model, info, path); err != nil {
		return fmt.Sprintf("could not write the visualisation: %v", err)
	}
	return "the visualisation is in " + path + " (open it in a browser)"
}
