package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/config"
)

// simpleBundle writes a bundle folder whose hooks echo marker; with fail, ValidateService exits 1.
func simpleBundle(t *testing.T, marker string, fail bool) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	ok := fmt.Sprintf("#!/bin/sh\necho %s\n", marker)
	validate := ok
	if fail {
		validate = fmt.Sprintf("#!/bin/sh\necho %s fails\nexit 1\n", marker)
	}
	for name, body := range map[string]string{"start.sh": ok, "validate.sh": validate} {
		if err := os.WriteFile(filepath.Join(dir, "scripts", name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	spec := "version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: scripts/start.sh\n" +
		"  ValidateService:\n    - location: scripts/validate.sh\n"
	if err := os.WriteFile(filepath.Join(dir, "appspec.yml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// decodeJSON decodes a command's JSON output into v, failing the test when it is not JSON.
func decodeJSON(t *testing.T, r result, v any) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d: stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("output is not JSON (%v): %q", err, r.stdout)
	}
}

func deploymentIDs(ds []api.Deployment) []string {
	ids := []string{}
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids
}

// TestParityCommands runs, against a real 3-server cluster with real agents: host list by tag
// and status, revisions by prefix and latest, deploy list by group, status and time, deploy
// redeploy, and the status overview (then with a server killed).
func TestParityCommands(t *testing.T) {
	c := testutil.NewCluster(t, 3, testutil.Options{Tweak: func(_ int, cfg *config.Config) {
		cfg.Agents.Heartbeat = 300 * time.Millisecond
		cfg.Agents.HostTimeout = 10 * time.Second
	}})
	testutil.StartAgent(t, c, "host-a", "env=prod", "role=web")
	testutil.StartAgent(t, c, "host-b", "env=prod", "role=db")
	dev := testutil.StartAgent(t, c, "host-c", "env=dev", "role=web")
	for _, h := range []string{"host-a", "host-b", "host-c"} {
		c.WaitHost(h)
	}
	addr := c.URL(c.WaitLeader())
	cli := func(args ...string) result {
		return runWith(t, t.Context(), nil, append([]string{"--addr", addr, "--token", testutil.ManagementToken}, args...)...)
	}
	hostNames := func(args ...string) []string {
		t.Helper()
		var hs []api.Host
		decodeJSON(t, cli(append([]string{"host", "list", "--output", "json"}, args...)...), &hs)
		names := []string{}
		for _, h := range hs {
			names = append(names, h.Name)
		}
		return names
	}

	// host list --tag (every one must match) and --status.
	if got := hostNames("--tag", "env=prod", "--tag", "role=web"); !slices.Equal(got, []string{"host-a"}) {
		t.Errorf("--tag env=prod --tag role=web: %v, want [host-a]", got)
	}
	if got := hostNames("--tag", "env=prod"); !slices.Equal(got, []string{"host-a", "host-b"}) {
		t.Errorf("--tag env=prod: %v, want [host-a host-b]", got)
	}
	dev.Kill()
	testutil.Eventually(t, 30*time.Second, func() error {
		if got := hostNames("--status", "offline"); !slices.Equal(got, []string{"host-c"}) {
			return fmt.Errorf("--status offline: %v, want [host-c]", got)
		}
		return nil
	})
	if got := hostNames("--status", "online", "--tag", "role=web"); !slices.Equal(got, []string{"host-a"}) {
		t.Errorf("--status online --tag role=web: %v, want [host-a]", got)
	}
	if r := cli("host", "list", "--tag", "env=prod"); r.code != 0 || !strings.Contains(r.stdout, "host-b") || strings.Contains(r.stdout, "host-c") {
		t.Errorf("host list --tag table: %+v", r)
	}
	for _, bad := range [][]string{{"--status", "sleeping"}, {"--tag", "envprod"}} {
		if r := cli(append([]string{"host", "list"}, bad...)...); r.code != ExitUsage {
			t.Errorf("host list %v: exit %d, want %d: %q", bad, r.code, ExitUsage, r.stderr)
		}
	}

	// Revisions by unique prefix and by latest.
	if r := cli("app", "create", "web"); r.code != 0 {
		t.Fatalf("app create: %+v", r)
	}
	var bad, good api.Revision
	decodeJSON(t, cli("revision", "push", "--app", "web", simpleBundle(t, "one", true), "--output", "json"), &bad)
	decodeJSON(t, cli("revision", "push", "--app", "web", simpleBundle(t, "two", false), "--output", "json"), &good)
	var got api.Revision
	decodeJSON(t, cli("revision", "get", "latest", "--app", "web", "--output", "json"), &got)
	if got.ID != good.ID {
		t.Errorf("revision get latest: %s, want the newest %s", got.ID, good.ID)
	}
	decodeJSON(t, cli("revision", "get", bad.ID[:8], "--output", "json"), &got)
	if got.ID != bad.ID {
		t.Errorf("revision get %s: %s, want %s", bad.ID[:8], got.ID, bad.ID)
	}
	if r := cli("revision", "get", "latest"); r.code != ExitFailure || !strings.Contains(r.stderr, "--app") {
		t.Errorf("revision get latest without --app: %+v", r)
	}

	// Deployments: one by prefix to a host (it fails), one of latest to a group.
	var failed, groupDep api.Deployment
	decodeJSON(t, cli("deploy", "create", "--app", "web", "--revision", bad.ID[:8], "--host", "host-a", "--output", "json"), &failed)
	if failed.Revision != bad.ID {
		t.Errorf("deploy create --revision %s deploys %s, want %s", bad.ID[:8], failed.Revision, bad.ID)
	}
	if r := cli("deploy", "watch", failed.ID); r.code != ExitFailure {
		t.Fatalf("the failing deployment: exit %d, want %d: %s %s", r.code, ExitFailure, r.stdout, r.stderr)
	}
	if r := cli("group", "create", "--app", "web", "prod", "--tag", "env=prod", "--config", "AllAtOnce"); r.code != 0 {
		t.Fatalf("group create: %+v", r)
	}
	r := cli("deploy", "create", "--app", "web", "--group", "prod", "--revision", "latest", "--watch", "--output", "json")
	if r.code != 0 {
		t.Fatalf("deploy create --revision latest --watch: %+v", r)
	}
	if err := json.Unmarshal([]byte(r.stdout[:strings.IndexByte(r.stdout, '\n')]), &api.WatchMessage{}); err != nil {
		t.Fatalf("watch --output json is not one object per line: %q", r.stdout)
	}
	var all []api.Deployment
	decodeJSON(t, cli("deploy", "list", "--app", "web", "--output", "json"), &all)
	if len(all) != 2 || all[0].ID != failed.ID {
		t.Fatalf("deploy list: %v, want the two, oldest first", deploymentIDs(all))
	}
	groupDep = all[1]
	if groupDep.Revision != good.ID || groupDep.Group != "prod" {
		t.Errorf("the group deployment: revision %s group %s, want %s prod", groupDep.Revision, groupDep.Group, good.ID)
	}

	// deploy list filters.
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--status", "failed"}, []string{failed.ID}},
		{[]string{"--status", "succeeded", "--app", "web"}, []string{groupDep.ID}},
		{[]string{"--group", "prod"}, []string{groupDep.ID}},
		{[]string{"--since", "1h"}, []string{failed.ID, groupDep.ID}},
		{[]string{"--since", future}, []string{}},
		{[]string{"--status", "in_progress"}, []string{}},
	} {
		var l []api.Deployment
		decodeJSON(t, cli(append([]string{"deploy", "list", "--output", "json"}, tc.args...)...), &l)
		if got := deploymentIDs(l); !slices.Equal(got, tc.want) {
			t.Errorf("deploy list %v: %v, want %v", tc.args, got, tc.want)
		}
	}
	if r := cli("deploy", "list", "--group", "prod"); r.code != 0 || !strings.Contains(r.stdout, groupDep.ID) || strings.Contains(r.stdout, failed.ID) {
		t.Errorf("deploy list --group table: %+v", r)
	}
	for _, bad := range [][]string{{"--status", "done"}, {"--since", "yesterday"}, {"--since", "-1h"}} {
		if r := cli(append([]string{"deploy", "list"}, bad...)...); r.code != ExitUsage {
			t.Errorf("deploy list %v: exit %d, want %d: %q", bad, r.code, ExitUsage, r.stderr)
		}
	}

	// deploy redeploy: the same revision, group and configuration, as a new deployment.
	r = cli("deploy", "redeploy", groupDep.ID, "--watch")
	if r.code != 0 || !strings.Contains(r.stdout, "succeeded") {
		t.Fatalf("deploy redeploy --watch: %+v", r)
	}
	decodeJSON(t, cli("deploy", "list", "--group", "prod", "--output", "json"), &all)
	if len(all) != 2 || all[0].ID != groupDep.ID {
		t.Fatalf("after redeploy, group prod's deployments: %v", deploymentIDs(all))
	}
	if re := all[1]; re.Revision != groupDep.Revision || re.Config != groupDep.Config || re.Config != "AllAtOnce" || re.Status != api.DeploymentSucceeded {
		t.Errorf("redeployment %+v; want revision %s config AllAtOnce, succeeded", re, groupDep.Revision)
	}
	var again api.Deployment
	decodeJSON(t, cli("deploy", "redeploy", failed.ID, "--output", "json"), &again)
	if again.ID == failed.ID || again.Revision != bad.ID || again.Group != "" || len(again.Targets) != 1 || again.Targets[0].Host != "host-a" {
		t.Errorf("redeploy of a host deployment: %+v; want a new one of %s to host-a", again, bad.ID)
	}
	if r := cli("deploy", "watch", again.ID); r.code != ExitFailure {
		t.Errorf("the redeployed failing revision: exit %d", r.code)
	}

	// status: servers and leader, hosts online and offline, deployments in progress.
	r = cli("status")
	for _, want := range []string{"Leader: node", "reachable", "Hosts: 2 online, 1 offline (of 3): offline host-c", "No deployments in progress"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q: %+v", want, r)
		}
	}
	follower := c.Follower()
	c.Kill(follower)
	addr = c.URL(c.WaitLeader())
	var o clusterOverview
	decodeJSON(t, cli("status", "--output", "json"), &o)
	// (Hosts whose agent was connected to the killed server are offline until they reconnect.)
	if len(o.Servers) != 3 || o.Leader == "" || o.Hosts.Total != 3 || !slices.Contains(o.Hosts.Down, "host-c") {
		t.Fatalf("status json: %+v", o)
	}
	for _, s := range o.Servers {
		if dead := s.ID == c.Config(follower).NodeID; s.Reachable == dead {
			t.Errorf("server %s reachable=%v, killed=%v", s.ID, s.Reachable, dead)
		}
	}
	if r := cli("status"); !strings.Contains(r.stdout, "UNREACHABLE") {
		t.Errorf("status with a server killed does not say so: %q", r.stdout)
	}
}
