package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/internal/simagent"
	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/deploy"
)

// rolloutOptions are the flags of `slipway bench rollout`, checked by the command; progress
// receives progress lines and the servers' logs (nil: none).
type rolloutOptions struct {
	hosts      []int
	configs    []string
	servers    int
	timeout    time.Duration
	parallel   int
	logLevel   string
	cpuProfile string
	progress   io.Writer
	transports []string
	// agentProcs is the number of worker processes the agents run in (0: this process; -1:
	// this process up to autoAgentsPerProc hosts, else one worker per autoAgentsPerProc).
	agentProcs int
}

// autoAgentsPerProc is how many simulated agents a process takes when --agent-procs is auto.
const autoAgentsPerProc = 2500

// procsFor returns the worker processes for a fleet of maxHosts agents.
func (o rolloutOptions) procsFor(maxHosts int) int {
	if o.agentProcs >= 0 {
		return o.agentProcs
	}
	if maxHosts <= autoAgentsPerProc {
		return 0
	}
	return (maxHosts + autoAgentsPerProc - 1) / autoAgentsPerProc
}

func (o rolloutOptions) logf(format string, a ...any) {
	if o.progress != nil {
		_, _ = fmt.Fprintf(o.progress, "bench: "+format+"\n", a...)
	}
}

// rollout runs the whole benchmark and cleans up after itself. It returns the runs done so
// far along with an error.
func rollout(ctx context.Context, o rolloutOptions) (*Report, error) {
	if o.progress != nil {
		o.progress = &syncWriter{w: o.progress} // the servers' logs, progress and the agent workers' stderr
	}
	hosts := slices.Clone(o.hosts)
	slices.Sort(hosts)
	hosts = slices.Compact(hosts)
	maxHosts := hosts[len(hosts)-1]
	rep := &Report{Machine: machineInfo(), Servers: o.servers, AgentProcs: o.procsFor(maxHosts)}
	perHost := uint64(4) // client and server sockets of each session, and of its registration
	if rep.AgentProcs > 0 {
		perHost = 1 // the servers' end of each session: the agents' are in the workers
	}
	lim, err := raiseOpenFiles(perHost*uint64(maxHosts) + 2048)
	rep.Machine.OpenFilesLimit = lim
	if err != nil {
		return rep, err
	}

	for _, transport := range o.transports {
		if err := runTransport(ctx, o, hosts, transport, rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// runTransport starts a cluster and a fleet speaking transport (plain or tls) and makes every
// run on them, appending to rep.
func runTransport(ctx context.Context, o rolloutOptions, hosts []int, transport string, rep *Report) error {
	dir, err := os.MkdirTemp("", "slipway-bench-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()

	start := time.Now()
	o.logf("starting %d servers (%s) in %s", o.servers, transport, dir)
	var level slog.LevelVar
	_ = level.UnmarshalText([]byte(o.logLevel)) // checked by the command
	logger := slog.New(slog.NewTextHandler(o.progressOrDiscard(), &slog.HandlerOptions{Level: &level}))
	bc, err := startCluster(ctx, o.servers, dir, logger, transport == "tls")
	if err != nil {
		return err
	}
	defer func() {
		level.Set(slog.LevelError + 4) // Raft complains about the connections the teardown cuts
		bc.stop()
	}()
	if rep.ClusterStartSeconds == 0 {
		rep.ClusterStartSeconds = time.Since(start).Seconds()
	}
	leader := bc.leader()
	o.logf("cluster up in %.1fs, leader %s", time.Since(start).Seconds(), leader.NodeID())

	cl, err := api.NewClient(api.Config{Address: leader.HTTPAddr(), Token: bc.token, HTTPClient: bc.hc})
	if err != nil {
		return err
	}
	tok, err := cl.HostTokenCreate(ctx, api.HostTokenCreateRequest{Tags: map[string]string{"role": "bench"}})
	if err != nil {
		return fmt.Errorf("registration token: %w", err)
	}
	const app = "bench"
	if _, err := cl.AppCreate(ctx, api.AppCreateRequest{Name: app, Description: "slipway bench rollout"}); err != nil {
		return fmt.Errorf("create app: %w", err)
	}
	var buf bytes.Buffer
	info, err := simagent.WriteBundle(&buf)
	if err != nil {
		return err
	}
	rev, _, err := cl.RevisionPush(ctx, app, &buf, info.Size, info.SHA256, "bench bundle")
	if err != nil {
		return fmt.Errorf("push revision: %w", err)
	}

	sc := simagent.Config{Servers: bc.urls, RegistrationToken: tok.Token, NamePrefix: "bench"}
	var caPEM []byte
	if bc.ca != nil {
		sc.RootCAs, caPEM = bc.ca.Pool(), bc.ca.CertPEM()
	}
	var fleet fleet
	if rep.AgentProcs > 0 {
		o.logf("starting %d agent worker processes", rep.AgentProcs)
		fleet, err = startWorkers(rep.AgentProcs, sc, caPEM, o.progressOrDiscard())
	} else {
		fleet, err = simagent.NewFleet(sc)
	}
	if err != nil {
		return err
	}
	defer fleet.Close()

	if o.cpuProfile != "" {
		if err := os.MkdirAll(o.cpuProfile, 0o755); err != nil {
			return err
		}
	}
	var profile *os.File
	stopProfile := func() {
		if profile != nil {
			pprof.StopCPUProfile()
			_ = profile.Close()
			profile = nil
		}
	}
	defer stopProfile()

	for _, n := range hosts {
		for _, cfgName := range o.configs {
			if err := ctx.Err(); err != nil {
				return err
			}
			run := Run{Transport: transport, Config: cfgName, Hosts: n}
			if add := n - fleet.Len(); add > 0 {
				o.logf("registering and connecting %d simulated agents", add)
				t := time.Now()
				if err := fleet.Add(ctx, add, o.parallel); err != nil {
					return fmt.Errorf("agents: %w", err)
				}
				run.AgentsAdded, run.AgentsAddSeconds = add, time.Since(t).Seconds()
				o.logf("%d agents connected in %.1fs", fleet.Len(), run.AgentsAddSeconds)
			}
			if err := runOne(ctx, o, bc, cl, fleet, app, rev.ID, &run, func() error {
				if o.cpuProfile == "" {
					return nil
				}
				f, err := os.Create(filepath.Join(o.cpuProfile, fmt.Sprintf("rollout-%s-%s-%d.pprof", run.Transport, run.Config, run.Hosts)))
				if err != nil {
					return err
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					_ = f.Close()
					return err
				}
				profile = f
				return nil
			}); err != nil {
				stopProfile()
				rep.Runs = append(rep.Runs, run)
				return err
			}
			stopProfile()
			rep.Runs = append(rep.Runs, run)
			o.logf("%s %s to %d hosts: %s in %.2fs, dispatch p50 %.1f ms p99 %.1f ms, %.0f Raft entries/s, peak RSS %.0f MiB, %.2f ms CPU and %.1f KiB written per host",
				run.Transport, run.Config, run.Hosts, run.Status, run.WallSeconds, run.Dispatch.P50Ms, run.Dispatch.P99Ms, run.RaftEntriesPerSec, run.RSSPeakMiB,
				run.CPUPerHostMs, run.WrittenPerHostKiB)
		}
	}
	return nil
}

// syncWriter serializes writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (o rolloutOptions) progressOrDiscard() io.Writer {
	if o.progress == nil {
		return io.Discard
	}
	return o.progress
}

// runOne creates the run's group and deployment and measures it. startProfile is called just
// before the create.
func runOne(ctx context.Context, o rolloutOptions, bc *cluster, cl *api.Client, fleet fleet,
	app, revision string, run *Run, startProfile func() error) error {
	group := fmt.Sprintf("bench-%s-%d", strings.ToLower(run.Config), run.Hosts)
	if _, err := cl.GroupCreate(ctx, app, api.GroupRequest{Name: group, Tags: map[string]string{"role": "bench"}, Config: run.Config}); err != nil {
		return fmt.Errorf("create group %s: %w", group, err)
	}
	leader := bc.leader()
	run.Leader = leader.NodeID()
	node := leader.Node()
	run.SettleSeconds = bc.quiesce(ctx, 500*time.Millisecond, o.timeout).Seconds()
	runtime.GC()
	debug.FreeOSMemory()
	run.PeakReset = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	run.RSSBeforeMiB, _ = procStatusMiB("VmRSS")

	tl := newApplyTimeline()
	tctx, stopTimeline := context.WithCancel(ctx)
	var twg sync.WaitGroup
	twg.Add(1)
	go func() { defer twg.Done(); tl.record(tctx, node) }()
	var followerTLs []*applyTimeline
	for _, s := range bc.servers {
		if s != leader {
			ftl := newApplyTimeline()
			followerTLs = append(followerTLs, ftl)
			twg.Add(1)
			go func() { defer twg.Done(); ftl.record(tctx, s.Node()) }()
		}
	}
	defer func() { stopTimeline(); twg.Wait() }()

	if err := startProfile(); err != nil {
		return err
	}
	cmds0, _ := raftCommands(ctx, bc.hc, leader.HTTPAddr(), bc.token)
	resent0 := fleet.Resent()
	workers, _ := fleet.(*workerFleet)
	var agentCPU0 time.Duration
	if workers != nil {
		agentCPU0 = workers.CPUTime()
	}
	written0, _ := writtenBytes()
	cpu0 := cpuTime()
	idx0 := node.Raft().LastIndex()
	t0 := time.Now()
	d, err := cl.DeploymentCreate(ctx, api.DeploymentCreateRequest{App: app, Revision: revision, Group: group})
	if err != nil {
		return fmt.Errorf("create deployment: %w", err)
	}
	run.Deployment = d.ID
	createIndex := d.ModifyIndex
	firstWave := map[string]bool{}
	for _, tg := range d.Targets {
		if tg.Status == "pending" || tg.Status == "in_progress" {
			firstWave[tg.Host] = true
		}
	}
	if len(d.Targets) != run.Hosts {
		run.Message = fmt.Sprintf("the group has %d members, expected %d", len(d.Targets), run.Hosts)
	}

	// Wait for the final result: woken by the agents' acknowledgements, checked on the leader.
	deadline := time.NewTimer(o.timeout)
	defer deadline.Stop()
	poll := time.NewTicker(2 * time.Second)
	defer poll.Stop()
	var timedOut error
	for d.Status == api.DeploymentInProgress && timedOut == nil {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			// Measure what was done so far, then report the timeout.
			timedOut = fmt.Errorf("%s to %d hosts did not finish within --timeout %s (%d hosts done)", run.Config, run.Hosts, o.timeout, fleet.EndAcked(d.ID))
			continue
		case <-fleet.Done():
			if fleet.EndAcked(d.ID) < len(d.Targets) {
				continue
			}
		case <-poll.C:
		}
		// Whether it ended is read from the leader's state (the deployment's header): the
		// whole deployment, every host's part, is fetched once it has.
		var ended bool
		_ = node.State().View(func(tx *state.Tx) error {
			ended, _ = deploy.DeploymentEnded(tx, d.ID)
			return nil
		})
		if !ended {
			continue
		}
		got, err := cl.DeploymentGet(ctx, d.ID, nil)
		if err != nil {
			return fmt.Errorf("get deployment: %w", err)
		}
		d = got
	}
	seen := time.Now()
	allApplied := seen
	if timedOut == nil {
		wctx, cancelWait := context.WithTimeout(ctx, o.timeout)
		allApplied, err = bc.waitAllApplied(wctx, d.ModifyIndex)
		cancelWait()
		if err != nil {
			return fmt.Errorf("followers did not apply the final result: %w", err)
		}
	}
	cpu1 := cpuTime()
	written1, wok := writtenBytes()
	if workers != nil {
		run.AgentCPUSeconds = (workers.CPUTime() - agentCPU0).Seconds()
	}
	run.ReportsResent = fleet.Resent() - resent0
	stopTimeline()
	twg.Wait()

	run.Status = d.Status
	if d.Message != "" {
		run.Message = d.Message
	}
	end, ok := tl.at(d.ModifyIndex)
	if !ok || timedOut != nil {
		end = seen
	}
	if timedOut != nil {
		run.Message = strings.TrimSpace(fmt.Sprintf("%s timed out: %d of %d hosts done", run.Message, fleet.EndAcked(d.ID), run.Hosts))
	}
	run.WallSeconds = end.Sub(t0).Seconds()
	if allApplied.Before(end) {
		allApplied = end
	}
	run.AllAppliedSeconds = allApplied.Sub(t0).Seconds()
	if c, ok := tl.at(createIndex); ok {
		run.CreateCommitMs = ms(c.Sub(t0))
		for i, ftl := range followerTLs {
			if f, ok := ftl.at(createIndex); ok && (i == 0 || ms(f.Sub(c)) > run.FollowersCreateMs) {
				run.FollowersCreateMs = ms(f.Sub(c)) // < 0 when the follower finished first
			}
		}
	}
	run.CPUSeconds = (cpu1 - cpu0).Seconds()
	done := run.Hosts
	if timedOut != nil {
		done = max(fleet.EndAcked(d.ID), 1)
	}
	run.CPUPerHostMs = (run.CPUSeconds + run.AgentCPUSeconds) * 1000 / float64(done)
	if wok {
		run.WrittenBytes = written1 - written0
		run.WrittenPerHostKiB = float64(run.WrittenBytes) / 1024 / float64(done)
	}
	// Raft entries up to the final result (state indexes run ahead of Raft indexes when
	// entries carry batches, so the final ModifyIndex does not count entries).
	idx1 := tl.raftIndexAt(d.ModifyIndex)
	if timedOut != nil || idx1 == 0 {
		idx1 = node.Raft().LastIndex()
	}
	if idx1 > idx0 {
		run.RaftEntries = idx1 - idx0
		if run.WallSeconds > 0 {
			run.RaftEntriesPerSec = float64(run.RaftEntries) / run.WallSeconds
		}
	}
	run.RSSPeakMiB, _ = procStatusMiB("VmHWM")
	if cmds1, err := raftCommands(ctx, bc.hc, leader.HTTPAddr(), bc.token); err == nil && cmds1 >= cmds0 {
		run.RaftCommands = cmds1 - cmds0
	}
	_ = node.State().View(func(tx *state.Tx) error {
		run.StateDeploymentBytes = deploy.ReportRecordBytes(tx, d.ID)
		return nil
	})
	if bc.leader() != leader {
		run.Message = strings.TrimSpace(run.Message + " (the leader changed during the run: times are approximate)")
	}
	// Hosts are timed from the first server's apply of the create: the leader announces the
	// commit as it starts applying, so a follower may finish applying first.
	created, _ := tl.at(createIndex)
	for _, ftl := range followerTLs {
		if f, ok := ftl.at(createIndex); ok && f.Before(created) {
			created = f
		}
	}
	df := dispatchLatencies(fleet.Records(d.ID), firstWave, created, leader.HTTPAddr(), tl)
	run.Dispatch, run.FirstWave, run.LaterWaves, run.DuplicateRuns = df.all, df.first, df.later, df.dups
	run.FirstWaveOnLeader, run.FirstWaveOnFollowers = df.firstOnLeader, df.firstOnFollowers
	return timedOut
}
