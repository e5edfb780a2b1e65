package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/internal/simagent"
	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/pkg/tlsutil"
	"github.com/slipwayhq/slipway/server"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/config"
	"github.com/slipwayhq/slipway/server/core/keyring"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/deploy"
)

func (c *cli) newBenchCommand() *cobra.Command {
	cmd := nounCommand("bench", "Measure Slipway on this machine (in-process clusters and simulated agents)",
		"  slipway bench rollout --hosts 100,1000")
	cmd.AddCommand(c.newBenchRolloutCommand())
	return cmd
}

type benchRolloutOptions struct {
	hosts      []int
	configs    []string
	servers    int
	timeout    time.Duration
	parallel   int
	logLevel   string
	cpuProfile string
	progress   io.Writer
	transports []string
}

func (c *cli) newBenchRolloutCommand() *cobra.Command {
	o := benchRolloutOptions{}
	cmd := &cobra.Command{
		Use:   "rollout",
		Short: "Time group deployments to simulated agents on an in-process loopback cluster",
		Long: `Start a real cluster of --servers nodes in this process (loopback, random ports, a temporary
data folder, production Raft timings), register the largest fleet of --hosts simulated agents
(real websocket sessions speaking the agent protocol, tagged role=bench, spread over the servers,
hooks that do nothing), push a small revision, and for each host count and configuration create a
deployment group and deploy it. Everything is removed afterwards.

Figures per run:
  wall           from sending the create request to the final result, applied on the leader
                 (all applied: until every server has applied it)
  commit         from sending the create request to its commit on the leader
  dispatch       per host, from the commit that scheduled it to its Run arriving at the agent.
                 Hosts started by the create count from the create's commit. Hosts started later
                 (HalfAtATime) count from the commit of the success that freed their slot: the k-th
                 later host to get its Run is matched with the k-th acknowledged DeploymentEnd,
                 timed at the last entry the leader applied before that acknowledgement (an
                 estimate, slightly low)
  raft entries   leader's log entries from the create to the final result, and per second
  commands       commands the leader proposed in that time (an entry batches several)
  cpu            CPU time of the whole process during the run (servers, agents and this command)
  peak rss       peak RSS of the whole process during the run (VmHWM, reset before each run):
                 servers and simulated agents share it; "rss before" is with the agents idle

Runs are every --configs for every --hosts, smallest fleet first; the fleet grows between runs.
With --transport plain,tls every run is made on a plaintext cluster, then on a TLS one (a new
cluster and fleet: TLS on the API and the cluster port, each simulated agent with its own key
and host certificate, sessions over mutual TLS), and the TLS/plain ratios are printed.`,
		Example: `  slipway bench rollout
  slipway bench rollout --hosts 100,1000 --configs AllAtOnce,HalfAtATime --servers 3 --output json
  slipway bench rollout --hosts 20 --configs OneAtATime --servers 1
  slipway bench rollout --hosts 1000 --configs AllAtOnce --transport plain,tls`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := c.printer()
			if err != nil {
				return err
			}
			if len(o.hosts) == 0 || len(o.configs) == 0 {
				return usagef("--hosts and --configs need at least one value")
			}
			for _, h := range o.hosts {
				if h < 1 || h > 100000 {
					return usagef("--hosts %d is out of range (1-100000)", h)
				}
			}
			for _, tr := range o.transports {
				if tr != "plain" && tr != "tls" {
					return usagef("--transport %q: want plain or tls", tr)
				}
			}
			if len(o.transports) == 0 {
				return usagef("--transport needs at least one of plain, tls")
			}
			if o.servers < 1 || o.servers > 9 {
				return usagef("--servers %d is out of range (1-9)", o.servers)
			}
			var l slog.Level
			if err := l.UnmarshalText([]byte(o.logLevel)); err != nil {
				return usagef("--log-level %q: want debug, info, warn or error", o.logLevel)
			}
			o.progress = c.stderr
			rep, err := benchRollout(cmd.Context(), o)
			if rep != nil && len(rep.Runs) > 0 {
				if perr := printBench(p, rep); perr != nil {
					return perr
				}
			}
			if err != nil {
				return err
			}
			for _, r := range rep.Runs {
				if r.Status != api.DeploymentSucceeded {
					return fmt.Errorf("%s to %d hosts (%s) ended %s: %s", r.Config, r.Hosts, r.Transport, r.Status, r.Message)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntSliceVar(&o.hosts, "hosts", []int{100, 1000}, "fleet sizes to deploy to")
	f.StringSliceVar(&o.configs, "configs", []string{"AllAtOnce", "HalfAtATime"}, "deployment configurations to run at each size")
	f.IntVar(&o.servers, "servers", 3, "servers in the cluster")
	f.DurationVar(&o.timeout, "timeout", 10*time.Minute, "longest a single rollout may take")
	f.IntVar(&o.parallel, "parallel", 64, "agents registering and connecting at once")
	f.StringVar(&o.logLevel, "log-level", "error", "server log level on stderr: debug, info, warn or error")
	f.StringSliceVar(&o.transports, "transport", []string{"plain"}, "plain, tls or both (plain,tls): tls runs a second cluster with mutual TLS on the cluster port, TLS on the API, and agents with host certificates over mutual TLS sessions")
	f.StringVar(&o.cpuProfile, "cpuprofile-dir", "", "write a CPU profile of each rollout (not its setup) to DIR/rollout-CONFIG-HOSTS.pprof")
	return cmd
}

// benchReport is the result of `slipway bench rollout` (its --output json).
type benchReport struct {
	Machine benchMachine `json:"machine"`
	Servers int          `json:"servers"`
	// ClusterStartSeconds is how long the cluster took to elect a leader and accept the token.
	ClusterStartSeconds float64    `json:"cluster_start_s"`
	Runs                []benchRun `json:"runs"`
}

type benchMachine struct {
	CPUs           int     `json:"cpus"`
	GOMAXPROCS     int     `json:"gomaxprocs"`
	MemTotalGiB    float64 `json:"mem_total_gib"`
	OpenFilesLimit uint64  `json:"open_files_limit"`
	GoVersion      string  `json:"go_version"`
	OS             string  `json:"os"`
	Arch           string  `json:"arch"`
}

type benchRun struct {
	// Transport is plain or tls.
	Transport  string `json:"transport"`
	Config     string `json:"config"`
	Hosts      int    `json:"hosts"`
	Deployment string `json:"deployment"`
	Status     string `json:"status"`
	Message    string `json:"message,omitempty"`
	// AgentsAdded agents were registered and connected for this run in AgentsAddSeconds.
	AgentsAdded      int     `json:"agents_added"`
	AgentsAddSeconds float64 `json:"agents_add_s"`

	// SettleSeconds is how long the run waited, before starting, for every server to have
	// applied everything (the previous run's backlog on followers).
	SettleSeconds float64 `json:"settle_s"`
	WallSeconds   float64 `json:"wall_s"`
	// AllAppliedSeconds is from the create to the moment every server had applied the final result.
	AllAppliedSeconds float64 `json:"all_applied_s"`
	CreateCommitMs    float64 `json:"create_commit_ms"`
	// Dispatch latency of every host (see the command's help for what it measures).
	Dispatch benchLatency `json:"dispatch"`
	// FirstWave: the hosts the create started, timed from the create's commit (exact).
	FirstWave benchLatency `json:"dispatch_first_wave"`
	// The first wave split by where each host's session was: on the leader, or on a follower
	// (which learns of the commit later).
	FirstWaveOnLeader    benchLatency `json:"dispatch_first_wave_leader_sessions"`
	FirstWaveOnFollowers benchLatency `json:"dispatch_first_wave_follower_sessions"`
	// LaterWaves: hosts started as others succeeded (estimated; empty for AllAtOnce).
	LaterWaves benchLatency `json:"dispatch_later_waves"`
	// DuplicateRuns counts Run messages beyond the first per host.
	DuplicateRuns int `json:"duplicate_runs"`
	// ReportsResent counts agent reports sent again because no acknowledgement came within 15 s.
	ReportsResent int64 `json:"reports_resent"`

	RaftEntries       uint64  `json:"raft_entries"`
	RaftEntriesPerSec float64 `json:"raft_entries_per_s"`
	// RaftCommands counts the commands the leader proposed during the run (a log entry holds a
	// batch of them), from its slipway_raft_batch_commands metric.
	RaftCommands uint64 `json:"raft_commands"`
	// StateDeploymentBytes is the size of the deployment's record in the replicated state at the
	// end (the document every agent report reads and rewrites).
	StateDeploymentBytes int     `json:"state_deployment_bytes"`
	CPUSeconds           float64 `json:"cpu_s"`
	RSSBeforeMiB         float64 `json:"rss_before_mib"`
	RSSPeakMiB           float64 `json:"rss_peak_mib"`
	// PeakReset is false when /proc/self/clear_refs could not be written: the peak is then the
	// process's peak since it started.
	PeakReset bool   `json:"peak_reset"`
	Leader    string `json:"leader"`
}

type benchLatency struct {
	Hosts int     `json:"hosts"`
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

func (o benchRolloutOptions) logf(format string, a ...any) {
	if o.progress != nil {
		_, _ = fmt.Fprintf(o.progress, "bench: "+format+"\n", a...)
	}
}

// benchRollout runs the whole benchmark and cleans up after itself. It returns the runs done so
// far along with an error.
func benchRollout(ctx context.Context, o benchRolloutOptions) (*benchReport, error) {
	hosts := slices.Clone(o.hosts)
	slices.Sort(hosts)
	hosts = slices.Compact(hosts)
	maxHosts := hosts[len(hosts)-1]
	rep := &benchReport{Machine: machineInfo(), Servers: o.servers}
	lim, err := raiseOpenFiles(uint64(4*maxHosts + 1024))
	rep.Machine.OpenFilesLimit = lim
	if err != nil {
		return rep, err
	}

	for _, transport := range o.transports {
		if err := benchTransport(ctx, o, hosts, transport, rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// benchTransport starts a cluster and a fleet speaking transport (plain or tls) and makes every
// run on them, appending to rep.
func benchTransport(ctx context.Context, o benchRolloutOptions, hosts []int, transport string, rep *benchReport) error {
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
	bc, err := startBenchCluster(ctx, o.servers, dir, logger, transport == "tls")
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
	if bc.ca != nil {
		sc.RootCAs = bc.ca.Pool()
	}
	fleet, err := simagent.NewFleet(sc)
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
			run := benchRun{Transport: transport, Config: cfgName, Hosts: n}
			if add := n - fleet.Len(); add > 0 {
				o.logf("registering and connecting %d simulated agents", add)
				t := time.Now()
				if err := fleet.Add(ctx, add, o.parallel); err != nil {
					return fmt.Errorf("agents: %w", err)
				}
				run.AgentsAdded, run.AgentsAddSeconds = add, time.Since(t).Seconds()
				o.logf("%d agents connected in %.1fs", fleet.Len(), run.AgentsAddSeconds)
			}
			if err := benchOne(ctx, o, bc, cl, fleet, app, rev.ID, &run, func() error {
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
			o.logf("%s %s to %d hosts: %s in %.2fs, dispatch p50 %.1f ms p99 %.1f ms, %.0f Raft entries/s, peak RSS %.0f MiB",
				run.Transport, run.Config, run.Hosts, run.Status, run.WallSeconds, run.Dispatch.P50Ms, run.Dispatch.P99Ms, run.RaftEntriesPerSec, run.RSSPeakMiB)
		}
	}
	return nil
}

func (o benchRolloutOptions) progressOrDiscard() io.Writer {
	if o.progress == nil {
		return io.Discard
	}
	return o.progress
}

// benchOne creates the run's group and deployment and measures it. startProfile is called just
// before the create.
func benchOne(ctx context.Context, o benchRolloutOptions, bc *benchCluster, cl *api.Client, fleet *simagent.Fleet,
	app, revision string, run *benchRun, startProfile func() error) error {
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
	defer func() { stopTimeline(); twg.Wait() }()

	if err := startProfile(); err != nil {
		return err
	}
	cmds0, _ := raftCommands(ctx, bc.hc, leader.HTTPAddr(), bc.token)
	resent0 := fleet.Resent()
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
	}
	run.CPUSeconds = (cpu1 - cpu0).Seconds()
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
		sd, err := deploy.GetDeployment(tx, d.ID)
		if err == nil {
			b, _ := json.Marshal(sd)
			run.StateDeploymentBytes = len(b)
		}
		return nil
	})
	if bc.leader() != leader {
		run.Message = strings.TrimSpace(run.Message + " (the leader changed during the run: times are approximate)")
	}
	created, _ := tl.at(createIndex)
	df := dispatchLatencies(fleet.Records(d.ID), firstWave, created, leader.HTTPAddr(), tl)
	run.Dispatch, run.FirstWave, run.LaterWaves, run.DuplicateRuns = df.all, df.first, df.later, df.dups
	run.FirstWaveOnLeader, run.FirstWaveOnFollowers = df.firstOnLeader, df.firstOnFollowers
	return timedOut
}

// dispatchFigures are a run's dispatch latencies (see the command's help).
type dispatchFigures struct {
	first, later, all benchLatency
	// the first wave split by where the host's session was: on the leader or on a follower
	firstOnLeader, firstOnFollowers benchLatency
	dups                            int
}

// dispatchLatencies computes the dispatch figures from what the agents saw: created is when the
// leader applied the create, leaderURL the leader's base URL.
func dispatchLatencies(recs []simagent.Record, firstWave map[string]bool, created time.Time, leaderURL string, tl *applyTimeline) dispatchFigures {
	var out dispatchFigures
	var fw, fwLeader, fwFollowers, lw []time.Duration
	var laterRuns, frees []time.Time
	for _, r := range recs {
		out.dups += r.Runs - 1
		if !r.EndAckAt.IsZero() {
			f := r.EndAckAt
			if t, ok := tl.before(r.EndAckAt); ok {
				f = t
			}
			frees = append(frees, f)
		}
		if firstWave[r.Host] {
			lat := r.RunAt.Sub(created)
			fw = append(fw, lat)
			if r.Server == leaderURL {
				fwLeader = append(fwLeader, lat)
			} else {
				fwFollowers = append(fwFollowers, lat)
			}
		} else {
			laterRuns = append(laterRuns, r.RunAt)
		}
	}
	sort.Slice(laterRuns, func(i, j int) bool { return laterRuns[i].Before(laterRuns[j]) })
	sort.Slice(frees, func(i, j int) bool { return frees[i].Before(frees[j]) })
	for k, r := range laterRuns {
		if k >= len(frees) {
			break
		}
		lw = append(lw, max(0, r.Sub(frees[k])))
	}
	all := append(slices.Clone(fw), lw...)
	out.first, out.later, out.all = summarize(fw), summarize(lw), summarize(all)
	out.firstOnLeader, out.firstOnFollowers = summarize(fwLeader), summarize(fwFollowers)
	return out
}

func summarize(ds []time.Duration) benchLatency {
	if len(ds) == 0 {
		return benchLatency{}
	}
	slices.Sort(ds)
	pct := func(p float64) time.Duration {
		i := int(float64(len(ds))*p+0.999999) - 1 // nearest rank
		return ds[min(max(i, 0), len(ds)-1)]
	}
	return benchLatency{Hosts: len(ds), P50Ms: ms(pct(0.50)), P99Ms: ms(pct(0.99)), MaxMs: ms(ds[len(ds)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func printBench(p *printer, rep *benchReport) error {
	if p.json() {
		return p.JSON(rep)
	}
	rows := [][]string{}
	f1 := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	for _, r := range rep.Runs {
		rows = append(rows, []string{r.Transport, r.Config, strconv.Itoa(r.Hosts), r.Status,
			strconv.FormatFloat(r.WallSeconds, 'f', 2, 64) + "s", f1(r.CreateCommitMs) + "ms",
			f1(r.Dispatch.P50Ms) + "ms", f1(r.Dispatch.P99Ms) + "ms",
			strconv.FormatUint(r.RaftEntries, 10), f1(r.RaftEntriesPerSec), strconv.FormatUint(r.RaftCommands, 10),
			f1(r.CPUSeconds) + "s", f1(r.RSSBeforeMiB) + "MiB", f1(r.RSSPeakMiB) + "MiB"})
	}
	if err := p.Table([]string{"TRANSPORT", "CONFIG", "HOSTS", "RESULT", "WALL", "COMMIT", "DISPATCH P50", "DISPATCH P99",
		"RAFT ENTRIES", "ENTRIES/S", "COMMANDS", "CPU", "RSS BEFORE", "PEAK RSS"}, rows); err != nil {
		return err
	}
	m := rep.Machine
	_, err := fmt.Fprintf(p.w, "\n%d servers in one process on %d CPUs (GOMAXPROCS %d), %.0f GiB RAM, %s %s/%s; servers and simulated agents share the process's CPU and RSS.\n",
		rep.Servers, m.CPUs, m.GOMAXPROCS, m.MemTotalGiB, m.GoVersion, m.OS, m.Arch)
	for _, r := range rep.Runs {
		var b strings.Builder
		fmt.Fprintf(&b, "%s, %s to %d: %d hosts started by the create: dispatch p50/p99 %.1f/%.1f ms on the leader's sessions (%d), %.1f/%.1f ms on followers' (%d)",
			r.Transport, r.Config, r.Hosts, r.FirstWave.Hosts, r.FirstWaveOnLeader.P50Ms, r.FirstWaveOnLeader.P99Ms, r.FirstWaveOnLeader.Hosts,
			r.FirstWaveOnFollowers.P50Ms, r.FirstWaveOnFollowers.P99Ms, r.FirstWaveOnFollowers.Hosts)
		if r.LaterWaves.Hosts > 0 {
			fmt.Fprintf(&b, "; %d as others succeeded: estimated p50/p99 %.1f/%.1f ms", r.LaterWaves.Hosts, r.LaterWaves.P50Ms, r.LaterWaves.P99Ms)
		}
		fmt.Fprintf(&b, "; deployment record %.2f MiB at the end; every server applied the result after %.2fs", float64(r.StateDeploymentBytes)/(1<<20), r.AllAppliedSeconds)
		if r.ReportsResent > 0 {
			fmt.Fprintf(&b, "; %d reports resent by agents after 15 s without acknowledgement", r.ReportsResent)
		}
		if r.SettleSeconds > 5 {
			fmt.Fprintf(&b, "; waited %.1fs before it for followers to finish the previous run", r.SettleSeconds)
		}
		if r.DuplicateRuns > 0 {
			fmt.Fprintf(&b, "; %d duplicate Run messages", r.DuplicateRuns)
		}
		if r.Message != "" {
			fmt.Fprintf(&b, "; %s", r.Message)
		}
		if _, err = fmt.Fprintln(p.w, b.String()+"."); err != nil {
			return err
		}
	}
	for _, c := range tlsRatios(rep.Runs) {
		if _, err = fmt.Fprintln(p.w, c); err != nil {
			return err
		}
	}
	return err
}

// tlsRatios compares each TLS run with the plaintext run of the same configuration and size.
func tlsRatios(runs []benchRun) []string {
	var out []string
	for _, t := range runs {
		if t.Transport != "tls" {
			continue
		}
		for _, p := range runs {
			if p.Transport != "plain" || p.Config != t.Config || p.Hosts != t.Hosts {
				continue
			}
			ratio := func(a, b float64) string {
				if b == 0 {
					return "-"
				}
				return strconv.FormatFloat(a/b, 'f', 2, 64)
			}
			out = append(out, fmt.Sprintf("TLS/plain, %s to %d: wall %s, dispatch p50 %s, p99 %s, first wave p50 %s, cpu %s, peak rss %s.",
				t.Config, t.Hosts, ratio(t.WallSeconds, p.WallSeconds), ratio(t.Dispatch.P50Ms, p.Dispatch.P50Ms), ratio(t.Dispatch.P99Ms, p.Dispatch.P99Ms),
				ratio(t.FirstWave.P50Ms, p.FirstWave.P50Ms), ratio(t.CPUSeconds, p.CPUSeconds), ratio(t.RSSPeakMiB, p.RSSPeakMiB)))
		}
	}
	return out
}

// benchCluster is an in-process cluster on loopback.
type benchCluster struct {
	servers []*server.Server
	urls    []string
	token   string
	ca      *tlsutil.CA  // the cluster CA with TLS, else nil
	hc      *http.Client // API client trusting ca (nil: the default)
}

// startBenchCluster starts n servers forming one cluster in dir, with production Raft timings,
// and waits until they have a leader and accept the management token. withTLS makes a CA in
// DIR/tls and gives every server a certificate and the CA key (so it signs host certificates).
func startBenchCluster(ctx context.Context, n int, dir string, log *slog.Logger, withTLS bool) (*benchCluster, error) {
	bc := &benchCluster{token: auth.NewSecret()}
	tlsDir := filepath.Join(dir, "tls")
	if withTLS {
		ca, err := tlsutil.NewCA("Slipway bench CA", 0)
		if err != nil {
			return nil, err
		}
		if err := ca.WriteFiles(tlsDir); err != nil {
			return nil, err
		}
		bc.ca = ca
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: ca.Pool()}
		bc.hc = &http.Client{Transport: tr}
	}
	tokenFile := filepath.Join(dir, "management.token")
	if err := os.WriteFile(tokenFile, []byte(bc.token+"\n"), 0o600); err != nil {
		return nil, err
	}
	kekFile := filepath.Join(dir, "keyring.kek")
	if _, err := keyring.CreateKEKFile(kekFile); err != nil {
		return nil, err
	}
	ports, err := freeLoopbackPorts(2 * n)
	if err != nil {
		return nil, err
	}
	var join []string
	for i := 0; i < n; i++ {
		join = append(join, fmt.Sprintf("127.0.0.1:%d", ports[2*i+1]))
	}
	for i := 0; i < n; i++ {
		cfg := config.Default()
		cfg.NodeID = fmt.Sprintf("node%d", i)
		cfg.DataDir = filepath.Join(dir, cfg.NodeID)
		cfg.HTTPAddr = fmt.Sprintf("127.0.0.1:%d", ports[2*i])
		cfg.RaftAddr = join[i]
		cfg.InitialManagementTokenFile = tokenFile
		cfg.Keyring.KEKFile = kekFile
		cfg.Raft = config.Raft{} // hashicorp/raft's defaults, as a production server has them
		cfg.Agents = config.Agents{Heartbeat: 10 * time.Second, HostTimeout: 60 * time.Second}
		cfg.BootstrapExpect = n
		if n > 1 {
			cfg.Join = join
		}
		if bc.ca != nil {
			if err := bc.ca.IssueFiles(tlsutil.Request{Kind: tlsutil.KindServer, Name: cfg.NodeID}, tlsDir, cfg.NodeID); err != nil {
				return nil, err
			}
			cfg.TLS = config.TLS{CAFile: filepath.Join(tlsDir, "ca.pem"), CAKeyFile: filepath.Join(tlsDir, "ca-key.pem"),
				CertFile: filepath.Join(tlsDir, cfg.NodeID+".pem"), KeyFile: filepath.Join(tlsDir, cfg.NodeID+"-key.pem")}
		}
		if err := cfg.Validate(); err != nil {
			bc.stop()
			return nil, err
		}
		var s *server.Server
		for attempt := 0; ; attempt++ {
			s, err = server.Start(cfg, log.With("node", cfg.NodeID))
			if err == nil || !strings.Contains(err.Error(), "address already in use") || attempt == 50 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			bc.stop()
			return nil, fmt.Errorf("start %s: %w", cfg.NodeID, err)
		}
		bc.servers = append(bc.servers, s)
		bc.urls = append(bc.urls, s.HTTPAddr())
	}
	if err := bc.waitReady(ctx, time.Minute); err != nil {
		bc.stop()
		return nil, err
	}
	return bc, nil
}

// waitReady waits for a leader that every server knows, and for the token to work everywhere.
func (bc *benchCluster) waitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		err := bc.ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the bench cluster did not become ready: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (bc *benchCluster) ready(ctx context.Context) error {
	var leader string
	for _, s := range bc.servers {
		if s.Node().IsLeader() {
			leader = s.NodeID()
		}
	}
	if leader == "" {
		return errors.New("no leader yet")
	}
	for _, s := range bc.servers {
		if id, _, _ := s.Node().Leader(); id != leader {
			return fmt.Errorf("%s sees leader %q, not %q", s.NodeID(), id, leader)
		}
		cl, err := api.NewClient(api.Config{Address: s.HTTPAddr(), Token: bc.token, RetryFor: -1, HTTPClient: bc.hc})
		if err != nil {
			return err
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = cl.TokenSelf(rctx)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

func (bc *benchCluster) leader() *server.Server {
	for _, s := range bc.servers {
		if s.Node().IsLeader() {
			return s
		}
	}
	return bc.servers[0]
}

// quiesce waits until every server has applied the same index and none has moved for quiet
// (at most limit), so that a run does not start while followers still apply the previous one.
// It returns how long it waited.
func (bc *benchCluster) quiesce(ctx context.Context, quiet, limit time.Duration) time.Duration {
	start := time.Now()
	applied := func() (lo, hi uint64) {
		for i, s := range bc.servers {
			a := s.Node().AppliedIndex()
			if i == 0 || a < lo {
				lo = a
			}
			hi = max(hi, a)
		}
		return lo, hi
	}
	_, last := applied()
	since := time.Now()
	for time.Since(start) < limit && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
		lo, hi := applied()
		if hi != last || lo != hi {
			last, since = hi, time.Now()
		} else if time.Since(since) >= quiet {
			break
		}
	}
	return time.Since(start)
}

// waitAllApplied waits until every server's state holds stateIndex (a CreateIndex or
// ModifyIndex) and returns when that happened.
func (bc *benchCluster) waitAllApplied(ctx context.Context, stateIndex uint64) (time.Time, error) {
	for _, s := range bc.servers {
		for stateIndexOf(s.Node()) < stateIndex {
			if err := s.Node().WaitApplied(ctx, s.Node().AppliedIndex()+1); err != nil {
				return time.Time{}, err
			}
		}
	}
	return time.Now(), nil
}

// stateIndexOf reads the newest state index a node's state holds.
func stateIndexOf(node interface{ State() *state.Store }) uint64 {
	var i uint64
	_ = node.State().View(func(tx *state.Tx) error { i = tx.StateIndex(); return nil })
	return i
}

func (bc *benchCluster) stop() {
	var wg sync.WaitGroup
	for _, s := range bc.servers {
		wg.Add(1)
		go func() { defer wg.Done(); s.Kill() }()
	}
	wg.Wait()
}

// applyTimeline records when the leader's state reached each state index, and at which Raft
// index (to the scheduler's precision).
type applyTimeline struct {
	mu   sync.Mutex
	idx  []uint64 // state indexes
	raft []uint64 // the Raft applied index at the same moment
	when []time.Time
}

func newApplyTimeline() *applyTimeline { return &applyTimeline{} }

func (t *applyTimeline) record(ctx context.Context, node interface {
	AppliedIndex() uint64
	WaitApplied(context.Context, uint64) error
	State() *state.Store
}) {
	last := node.AppliedIndex()
	for ctx.Err() == nil {
		if node.WaitApplied(ctx, last+1) != nil {
			return
		}
		now := time.Now()
		last = node.AppliedIndex()
		si := stateIndexOf(node)
		t.mu.Lock()
		t.idx = append(t.idx, si)
		t.raft = append(t.raft, last)
		t.when = append(t.when, now)
		t.mu.Unlock()
	}
}

// raftIndexAt returns the Raft applied index when the state first held stateIndex, or 0.
func (t *applyTimeline) raftIndexAt(stateIndex uint64) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := sort.Search(len(t.idx), func(i int) bool { return t.idx[i] >= stateIndex })
	if i == len(t.idx) {
		return 0
	}
	return t.raft[i]
}

// at returns when the state first held index (a state index).
func (t *applyTimeline) at(index uint64) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := sort.Search(len(t.idx), func(i int) bool { return t.idx[i] >= index })
	if i == len(t.idx) {
		return time.Time{}, false
	}
	return t.when[i], true
}

// before returns the time of the last application at or before when.
func (t *applyTimeline) before(when time.Time) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := sort.Search(len(t.when), func(i int) bool { return t.when[i].After(when) })
	if i == 0 {
		return time.Time{}, false
	}
	return t.when[i-1], true
}

// raftCommands reads the number of commands a server proposed as leader from its /metrics.
func raftCommands(ctx context.Context, hc *http.Client, addr, token string) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, addr+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "slipway_raft_batch_commands_sum "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return uint64(f), err
		}
	}
	return 0, errors.New("no slipway_raft_batch_commands_sum in /metrics")
}

// procStatusMiB reads a "VmXxx: N kB" line of /proc/self/status.
func procStatusMiB(key string) (float64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != key {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if err != nil {
			return 0, false
		}
		return kb / 1024, true
	}
	return 0, false
}

func machineInfo() benchMachine {
	m := benchMachine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				m.MemTotalGiB = kb / (1 << 20)
			}
		}
	}
	return m
}

// freeLoopbackPorts returns n distinct free loopback ports.
func freeLoopbackPorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}
