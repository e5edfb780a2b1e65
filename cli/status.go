package cli

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newStatusCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show an overview of the cluster: servers and leader, hosts, active deployments",
		Long: `Show an overview of the cluster: each server, whether it answers and which one leads; how many
hosts are online and which are offline; and the deployments in progress. --output json prints the
same as one object.`,
		Example: `  slipway status
  slipway status --output json
  slipway status leader`,
		Args: nounArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			o, err := overview(cmd.Context(), cl)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(o)
			}
			return printOverview(p, o)
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "leader",
		Short: "Show the current Raft leader",
		Example: `  slipway status leader
  slipway status leader --output json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			l, err := cl.Leader(cmd.Context())
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(l)
			}
			return p.Fields([]field{
				{"ID", l.ID},
				{"Raft Address", l.RaftAddr},
				{"HTTP Address", l.HTTPAddr},
			})
		},
	})
	return cmd
}

// clusterOverview is what `slipway status` shows (and prints as JSON).
type clusterOverview struct {
	Leader            string              `json:"leader"` // "" when the cluster has none
	Servers           []serverStatus      `json:"servers"`
	Hosts             hostCounts          `json:"hosts"`
	ActiveDeployments []deploymentSummary `json:"active_deployments"`
}

type serverStatus struct {
	ID       string `json:"id"`
	HTTPAddr string `json:"http_addr"`
	Leader   bool   `json:"leader"`
	Voter    bool   `json:"voter"`
	// Reachable says whether the server answered its health check just now.
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
}

type hostCounts struct {
	Total   int      `json:"total"`
	Online  int      `json:"online"`
	Offline int      `json:"offline"`
	Down    []string `json:"offline_hosts"`
}

type deploymentSummary struct {
	ID       string    `json:"id"`
	App      string    `json:"app"`
	Group    string    `json:"group,omitempty"`
	Revision string    `json:"revision"`
	Done     int       `json:"hosts_done"`
	Hosts    int       `json:"hosts"`
	Created  time.Time `json:"create_time"`
}

// healthWait bounds each server's health check in the overview.
const healthWait = 3 * time.Second

func overview(ctx context.Context, cl *api.Client) (*clusterOverview, error) {
	servers, err := cl.Servers(ctx)
	if err != nil {
		return nil, err
	}
	o := &clusterOverview{Servers: make([]serverStatus, len(servers.Servers)), ActiveDeployments: []deploymentSummary{}}
	var wg sync.WaitGroup
	for i, s := range servers.Servers {
		o.Servers[i] = serverStatus{ID: s.ID, HTTPAddr: s.HTTPAddr, Leader: s.Leader, Voter: s.Voter}
		if s.Leader {
			o.Leader = s.ID
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			hctx, cancel := context.WithTimeout(ctx, healthWait)
			defer cancel()
			_, err := cl.HealthOf(hctx, s.HTTPAddr)
			o.Servers[i].Reachable = err == nil
			if err != nil {
				o.Servers[i].Error = oneLine(err.Error())
			}
		}()
	}
	wg.Wait()
	hosts, err := cl.HostList(ctx, nil)
	if err != nil {
		return nil, err
	}
	o.Hosts.Down = []string{}
	for _, h := range hosts.Hosts {
		o.Hosts.Total++
		if h.Status == api.HostOnline {
			o.Hosts.Online++
		} else {
			o.Hosts.Offline++
			o.Hosts.Down = append(o.Hosts.Down, h.Name)
		}
	}
	active, err := cl.DeploymentSearch(ctx, api.DeploymentFilter{Status: api.DeploymentInProgress}, nil)
	if err != nil {
		return nil, err
	}
	for _, d := range active.Deployments {
		s := deploymentSummary{ID: d.ID, App: d.App, Group: d.Group, Revision: d.Revision, Hosts: len(d.Targets), Created: d.CreateTime}
		for _, t := range d.Targets {
			switch t.Status {
			case "succeeded", "failed", "skipped", "stopped":
				s.Done++
			}
		}
		o.ActiveDeployments = append(o.ActiveDeployments, s)
	}
	return o, nil
}

// maxListed bounds the offline hosts named in the text overview.
const maxListed = 10

func printOverview(p *printer, o *clusterOverview) error {
	leader := o.Leader
	if leader == "" {
		leader = "none (check that a majority of servers are up)"
	}
	_ = p.Linef("Leader: %s", leader)
	_ = p.Linef("")
	rows := [][]string{}
	for _, s := range o.Servers {
		role := "follower"
		switch {
		case s.Leader:
			role = "leader"
		case !s.Voter:
			role = "non-voter"
		}
		health := "reachable"
		if !s.Reachable {
			health = "UNREACHABLE"
		}
		rows = append(rows, []string{s.ID, s.HTTPAddr, role, health})
	}
	if err := p.Table([]string{"SERVER", "HTTP ADDRESS", "ROLE", "HEALTH"}, rows); err != nil {
		return err
	}
	_ = p.Linef("")
	hosts := fmt.Sprintf("Hosts: %d online, %d offline (of %d)", o.Hosts.Online, o.Hosts.Offline, o.Hosts.Total)
	if n := len(o.Hosts.Down); n > 0 {
		names := o.Hosts.Down[:min(n, maxListed)]
		more := ""
		if n > maxListed {
			more = fmt.Sprintf(" and %d more (slipway host list --status offline)", n-maxListed)
		}
		hosts += ": offline " + strings.Join(names, ", ") + more
	}
	_ = p.Linef("%s", hosts)
	_ = p.Linef("")
	if len(o.ActiveDeployments) == 0 {
		return p.Linef("No deployments in progress")
	}
	_ = p.Linef("Deployments in progress:")
	rows = [][]string{}
	for _, d := range o.ActiveDeployments {
		rows = append(rows, []string{d.ID, d.App, d.Group, d.Revision, fmt.Sprintf("%d/%d", d.Done, d.Hosts), formatTime(d.Created)})
	}
	return p.Table([]string{"ID", "APP", "GROUP", "REVISION", "HOSTS DONE", "CREATED"}, rows)
}
