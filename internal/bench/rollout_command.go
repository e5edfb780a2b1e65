package bench

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

// newRolloutCommand is `slipway bench rollout`: it checks its flags, runs rollout with progress on
// stderr and prints the report, also when a run failed (then the command fails too).
func newRolloutCommand(cli CLI) *cobra.Command {
	o := rolloutOptions{}
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
  cpu            CPU time during the run of the servers' process (servers, this command and,
                 without agent workers, the agents) plus that of the agent workers; cpu/host is
                 it per host done
  written/host   bytes the servers' process wrote to disk during the run (its Raft logs, bolt
                 states and snapshots: /proc/self/io write_bytes), per host done
  peak rss       peak RSS of the servers' process during the run (VmHWM, reset before each
                 run), with the agents when they run in it; "rss before" is with the agents idle

The simulated agents run in this process, or with --agent-procs N in N worker processes (this
executable re-run as "slipway bench agent-worker", each with its share of the fleet), so that a
fleet bigger than one process's open-files limit fits (each session holds a socket on both
ends). By default they run here up to 2,500 hosts and in one worker per 2,500 hosts above.

Runs are every --configs for every --hosts, smallest fleet first; the fleet grows between runs.
With --transport plain,tls every run is made on a plaintext cluster, then on a TLS one (a new
cluster and fleet: TLS on the API and the cluster port, each simulated agent with its own key
and host certificate, sessions over mutual TLS), and the TLS/plain ratios are printed.`,
		Example: `  slipway bench rollout
  slipway bench rollout --hosts 100,1000 --configs AllAtOnce,HalfAtATime --servers 3 --output json
  slipway bench rollout --hosts 20 --configs OneAtATime --servers 1
  slipway bench rollout --hosts 1000 --configs AllAtOnce --transport plain,tls
  slipway bench rollout --hosts 100,1000,4000,10000 --configs AllAtOnce --agent-procs 4`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := cli.Printer()
			if err != nil {
				return err
			}
			if len(o.hosts) == 0 || len(o.configs) == 0 {
				return cli.Usagef("--hosts and --configs need at least one value")
			}
			for _, h := range o.hosts {
				if h < 1 || h > 100000 {
					return cli.Usagef("--hosts %d is out of range (1-100000)", h)
				}
			}
			for _, tr := range o.transports {
				if tr != "plain" && tr != "tls" {
					return cli.Usagef("--transport %q: want plain or tls", tr)
				}
			}
			if len(o.transports) == 0 {
				return cli.Usagef("--transport needs at least one of plain, tls")
			}
			if o.agentProcs < -1 || o.agentProcs > 64 {
				return cli.Usagef("--agent-procs %d is out of range (0-64, or -1 for automatic)", o.agentProcs)
			}
			if o.servers < 1 || o.servers > 9 {
				return cli.Usagef("--servers %d is out of range (1-9)", o.servers)
			}
			var l slog.Level
			if err := l.UnmarshalText([]byte(o.logLevel)); err != nil {
				return cli.Usagef("--log-level %q: want debug, info, warn or error", o.logLevel)
			}
			o.progress = cmd.ErrOrStderr()
			rep, err := rollout(cmd.Context(), o)
			if rep != nil && len(rep.Runs) > 0 {
				if perr := printReport(p, rep); perr != nil {
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
	f.IntVar(&o.agentProcs, "agent-procs", -1, "worker processes to run the simulated agents in: 0 runs them in this process, -1 chooses (one per 2,500 hosts above 2,500)")
	f.StringVar(&o.cpuProfile, "cpuprofile-dir", "", "write a CPU profile of each rollout (not its setup) to DIR/rollout-CONFIG-HOSTS.pprof")
	return cmd
}
