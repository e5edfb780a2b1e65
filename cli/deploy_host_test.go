package cli

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/config"
)

// TestDeployListByHost runs deploy list --host [--newest] against a real server with real
// agents: a host's deployments (not another host's), oldest or newest first, with the host's own
// status in JSON and in the table, and an unknown host refused.
func TestDeployListByHost(t *testing.T) {
	_, cli := agentCluster(t, "host-a", "host-b")
	if r := cli("app", "create", "web"); r.code != 0 {
		t.Fatalf("app create: %+v", r)
	}
	var good, bad api.Revision
	decodeJSON(t, cli("revision", "push", "--app", "web", simpleBundle(t, "good", false), "--output", "json"), &good)
	decodeJSON(t, cli("revision", "push", "--app", "web", simpleBundle(t, "bad", true), "--output", "json"), &bad)
	deploy := func(rev, host string) string {
		t.Helper()
		var d api.Deployment
		decodeJSON(t, cli("deploy", "create", "--app", "web", "--revision", rev, "--host", host, "--output", "json"), &d)
		cli("deploy", "watch", d.ID) // until it ends (the bad one exits 1)
		return d.ID
	}
	a1 := deploy(good.ID, "host-a")
	b1 := deploy(good.ID, "host-b")
	a2 := deploy(bad.ID, "host-a")

	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--host", "host-a"}, []string{a1 + ":succeeded", a2 + ":failed"}},
		{[]string{"--host", "host-a", "--newest"}, []string{a2 + ":failed", a1 + ":succeeded"}},
		{[]string{"--host", "host-b", "--newest"}, []string{b1 + ":succeeded"}},
		{[]string{"--host", "host-a", "--status", "failed"}, []string{a2 + ":failed"}},
		{[]string{"--newest"}, []string{a2 + ":", b1 + ":", a1 + ":"}},
	} {
		var l []api.Deployment
		decodeJSON(t, cli(append([]string{"deploy", "list", "--output", "json"}, tc.args...)...), &l)
		got := []string{}
		for _, d := range l {
			got = append(got, d.ID+":"+d.HostStatus)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("deploy list %v: %v, want %v", tc.args, got, tc.want)
		}
	}
	r := cli("deploy", "list", "--host", "host-a", "--newest")
	if r.code != 0 || !strings.Contains(r.stdout, "HOST STATUS") || strings.Contains(r.stdout, b1) ||
		strings.Index(r.stdout, a2) > strings.Index(r.stdout, a1) || !strings.Contains(r.stdout, "failed") {
		t.Errorf("deploy list --host host-a --newest table: %+v", r)
	}
	if r := cli("deploy", "list", "--host", "nowhere"); r.code != ExitFailure || !strings.Contains(r.stderr, "not found") {
		t.Errorf("deploy list --host nowhere: %+v; want exit %d, not found", r, ExitFailure)
	}
}

// agentCluster starts a one-server cluster with fast agent heartbeats and a real agent for each
// host, and returns it with a function that runs the CLI against its leader with the management
// token.
func agentCluster(t *testing.T, hosts ...string) (*testutil.Cluster, func(args ...string) result) {
	t.Helper()
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: func(_ int, cfg *config.Config) {
		cfg.Agents.Heartbeat = 300 * time.Millisecond
	}})
	for _, h := range hosts {
		testutil.StartAgent(t, c, h)
		c.WaitHost(h)
	}
	addr := c.URL(c.WaitLeader())
	return c, func(args ...string) result {
		return runWith(t, t.Context(), nil, append([]string{"--addr", addr, "--token", testutil.ManagementToken}, args...)...)
	}
}
