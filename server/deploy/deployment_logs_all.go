package deploy

import (
	"context"
	"sort"

	pub "github.com/slipwayhq/slipway/pkg/api"
)

// WithLogs returns a deployment and the output of its first hosts hosts by name (the order of
// its Targets), reading the record once: what a page showing a deployment with its hosts' output
// needs (Logs reads the record for each host).
func (s Deployments) WithLogs(ctx context.Context, id string, hosts int) (pub.Deployment, []pub.DeploymentLogs, error) {
	d, err := s.Record(ctx, id)
	if err != nil {
		return pub.Deployment{}, nil, err
	}
	targets := make([]*Target, 0, len(d.Targets))
	for _, tg := range d.Targets {
		targets = append(targets, tg)
	}
	sort.Slice(targets, func(i, j int) bool { return targets[i].HostName < targets[j].HostName })
	out := []pub.DeploymentLogs{}
	for _, tg := range targets[:min(hosts, len(targets))] {
		l, err := s.logsAfter(d, tg, 0)
		if err != nil {
			return pub.Deployment{}, nil, err
		}
		out = append(out, l)
	}
	return deploymentView(d), out, nil
}
