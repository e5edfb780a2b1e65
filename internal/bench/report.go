package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// Report is the result of `slipway bench rollout` (its --output json).
type Report struct {
	Machine Machine `json:"machine"`
	Servers int     `json:"servers"`
	// ClusterStartSeconds is how long the cluster took to elect a leader and accept the token.
	ClusterStartSeconds float64 `json:"cluster_start_s"`
	// AgentProcs is the number of worker processes the simulated agents ran in (0: in the
	// servers' process).
	AgentProcs int   `json:"agent_procs"`
	Runs       []Run `json:"runs"`
}

// Machine describes where the figures were measured.
type Machine struct {
	CPUs           int     `json:"cpus"`
	GOMAXPROCS     int     `json:"gomaxprocs"`
	MemTotalGiB    float64 `json:"mem_total_gib"`
	OpenFilesLimit uint64  `json:"open_files_limit"`
	GoVersion      string  `json:"go_version"`
	OS             string  `json:"os"`
	Arch           string  `json:"arch"`
}

// Run is one deployment to one fleet size under one configuration and transport.
type Run struct {
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
	// FollowersCreateMs is from the leader applying the create to the last follower applying it
	// (negative when every follower finished first: the leader announces a commit as it starts
	// applying it).
	FollowersCreateMs float64 `json:"followers_create_ms"`
	// Dispatch latency of every host (see the command's help for what it measures).
	Dispatch Latency `json:"dispatch"`
	// FirstWave: the hosts the create started, timed from the create's commit (exact).
	FirstWave Latency `json:"dispatch_first_wave"`
	// The first wave split by where each host's session was: on the leader, or on a follower
	// (which learns of the commit later).
	FirstWaveOnLeader    Latency `json:"dispatch_first_wave_leader_sessions"`
	FirstWaveOnFollowers Latency `json:"dispatch_first_wave_follower_sessions"`
	// LaterWaves: hosts started as others succeeded (estimated; empty for AllAtOnce).
	LaterWaves Latency `json:"dispatch_later_waves"`
	// DuplicateRuns counts Run messages beyond the first per host.
	DuplicateRuns int `json:"duplicate_runs"`
	// ReportsResent counts agent reports sent again because no acknowledgement came within 15 s.
	ReportsResent int64 `json:"reports_resent"`

	RaftEntries       uint64  `json:"raft_entries"`
	RaftEntriesPerSec float64 `json:"raft_entries_per_s"`
	// RaftCommands counts the commands the leader proposed during the run (a log entry holds a
	// batch of them), from its slipway_raft_batch_commands metric.
	RaftCommands uint64 `json:"raft_commands"`
	// StateDeploymentBytes is the size of the records an agent report reads and rewrites in the
	// replicated state at the end (the deployment's header and one host's part; before they
	// were split, the whole deployment).
	StateDeploymentBytes int `json:"state_deployment_bytes"`
	// CPUSeconds is the CPU time of this process during the run: the servers, the bench and,
	// without agent worker processes, the agents; AgentCPUSeconds that of the workers.
	CPUSeconds      float64 `json:"cpu_s"`
	AgentCPUSeconds float64 `json:"agent_cpu_s,omitempty"`
	// CPUPerHostMs is both CPU times per host done.
	CPUPerHostMs float64 `json:"cpu_per_host_ms"`
	// WrittenBytes is what this process wrote to disk during the run (/proc/self/io
	// write_bytes: the servers' Raft logs, bolt states and snapshots; the agents write
	// nothing), WrittenPerHostKiB that per host done.
	WrittenBytes      uint64  `json:"written_bytes"`
	WrittenPerHostKiB float64 `json:"written_per_host_kib"`
	RSSBeforeMiB      float64 `json:"rss_before_mib"`
	RSSPeakMiB        float64 `json:"rss_peak_mib"`
	// PeakReset is false when /proc/self/clear_refs could not be written: the peak is then the
	// process's peak since it started.
	PeakReset bool   `json:"peak_reset"`
	Leader    string `json:"leader"`
}

// Latency summarizes per-host dispatch latencies (nearest-rank percentiles, in milliseconds).
type Latency struct {
	Hosts int     `json:"hosts"`
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

// printReport prints rep: in json format the Report itself; in table format one row per run,
// then a line on the machine, one per run on its dispatch waves, and the TLS/plain ratios.
func printReport(p Printer, rep *Report) error {
	if p.JSONFormat() {
		return p.JSON(rep)
	}
	rows := [][]string{}
	f1 := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	for _, r := range rep.Runs {
		rows = append(rows, []string{r.Transport, r.Config, strconv.Itoa(r.Hosts), r.Status,
			strconv.FormatFloat(r.WallSeconds, 'f', 2, 64) + "s", f1(r.CreateCommitMs) + "ms",
			f1(r.Dispatch.P50Ms) + "ms", f1(r.Dispatch.P99Ms) + "ms",
			strconv.FormatUint(r.RaftEntries, 10), f1(r.RaftEntriesPerSec), strconv.FormatUint(r.RaftCommands, 10),
			f1(r.CPUSeconds+r.AgentCPUSeconds) + "s", strconv.FormatFloat(r.CPUPerHostMs, 'f', 2, 64) + "ms",
			f1(r.WrittenPerHostKiB) + "KiB", f1(r.RSSBeforeMiB) + "MiB", f1(r.RSSPeakMiB) + "MiB"})
	}
	if err := p.Table([]string{"TRANSPORT", "CONFIG", "HOSTS", "RESULT", "WALL", "COMMIT", "DISPATCH P50", "DISPATCH P99",
		"RAFT ENTRIES", "ENTRIES/S", "COMMANDS", "CPU", "CPU/HOST", "WRITTEN/HOST", "RSS BEFORE", "PEAK RSS"}, rows); err != nil {
		return err
	}
	m := rep.Machine
	where := "servers and simulated agents share the process's CPU and RSS"
	if rep.AgentProcs > 0 {
		where = fmt.Sprintf("simulated agents in %d worker processes (CPU counts theirs, RSS does not)", rep.AgentProcs)
	}
	if err := p.Linef("\n%d servers in one process on %d CPUs (GOMAXPROCS %d), %.0f GiB RAM, %s %s/%s; %s; written is what the servers' process wrote to disk.",
		rep.Servers, m.CPUs, m.GOMAXPROCS, m.MemTotalGiB, m.GoVersion, m.OS, m.Arch, where); err != nil {
		return err
	}
	for _, r := range rep.Runs {
		var b strings.Builder
		fmt.Fprintf(&b, "%s, %s to %d: %d hosts started by the create: dispatch p50/p99 %.1f/%.1f ms on the leader's sessions (%d), %.1f/%.1f ms on followers' (%d, the last follower applied the create %.1f ms after the leader)",
			r.Transport, r.Config, r.Hosts, r.FirstWave.Hosts, r.FirstWaveOnLeader.P50Ms, r.FirstWaveOnLeader.P99Ms, r.FirstWaveOnLeader.Hosts,
			r.FirstWaveOnFollowers.P50Ms, r.FirstWaveOnFollowers.P99Ms, r.FirstWaveOnFollowers.Hosts, r.FollowersCreateMs)
		if r.LaterWaves.Hosts > 0 {
			fmt.Fprintf(&b, "; %d as others succeeded: estimated p50/p99 %.1f/%.1f ms", r.LaterWaves.Hosts, r.LaterWaves.P50Ms, r.LaterWaves.P99Ms)
		}
		fmt.Fprintf(&b, "; a report rewrites %.1f KiB of deployment records at the end; every server applied the result after %.2fs", float64(r.StateDeploymentBytes)/(1<<10), r.AllAppliedSeconds)
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
		if err := p.Linef("%s.", b.String()); err != nil {
			return err
		}
	}
	for _, c := range tlsRatios(rep.Runs) {
		if err := p.Linef("%s", c); err != nil {
			return err
		}
	}
	return nil
}

// tlsRatios compares each TLS run with the plaintext run of the same configuration and size.
func tlsRatios(runs []Run) []string {
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
