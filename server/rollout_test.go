package server_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// fleet starts n real agents named h01..hNN tagged role=fleet, and a group "fleet" of app "web"
// selecting them.
func fleet(t *testing.T, c *testutil.Cluster, n int, group api.GroupRequest) []*testutil.Agent {
	t.Helper()
	ctx := context.Background()
	cl := c.Client(c.Running()[0])
	if _, err := cl.AppCreate(ctx, api.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	var agents []*testutil.Agent
	for i := 1; i <= n; i++ {
		agents = append(agents, testutil.StartAgent(t, c, fmt.Sprintf("h%02d", i), "role=fleet"))
	}
	for _, a := range agents {
		c.WaitHost(a.Name)
	}
	group.Name, group.Tags = "fleet", map[string]string{"role": "fleet"}
	if _, err := cl.GroupCreate(ctx, "web", group); err != nil {
		t.Fatal(err)
	}
	return agents
}

// fleetBundle records "<host> <event>" lines in record and fails ValidateService on the named
// hosts (a hook knows its host by its agent's folder in its working directory).
func fleetBundle(t *testing.T, record, dest, version string, failOn ...string) []byte {
	t.Helper()
	var cases strings.Builder
	for _, h := range failOn {
		fmt.Fprintf(&cases, "  *agent-%s/*) echo failing on purpose >&2; exit 1;;\n", h)
	}
	host := `host=$(pwd | sed -n 's#.*/agent-\([^/]*\)/.*#\1#p')`
	validate := fmt.Sprintf("#!/bin/sh\n%s\necho \"$host ValidateService %s\" >> %s\ncase \"$(pwd)\" in\n%s  *) ;;\nesac\n", host, version, record, cases.String())
	rec := fmt.Sprintf("#!/bin/sh\n%s\necho \"$host $LIFECYCLE_EVENT %s\" >> %s\ncp -r app/. %s/$host/ 2>/dev/null || true\n", host, version, record, dest)
	b := hookBundle(t, record, "", map[string]string{
		"BeforeInstall": rec, "ApplicationStart": rec, "ValidateService": validate,
		"AfterInstall": fmt.Sprintf("#!/bin/sh\n%s\nmkdir -p %s/$host && echo %s > %s/$host/version\n", host, dest, version, dest),
	})
	return b
}

func deployGroup(t *testing.T, c *testutil.Cluster, b []byte, config string) (*api.Client, *api.Deployment) {
	t.Helper()
	ctx := context.Background()
	cl := c.Client(c.Running()[0])
	rev, _, err := push(t, cl, "web", b)
	if err != nil {
		t.Fatal(err)
	}
	d, err := cl.DeploymentCreate(ctx, api.DeploymentCreateRequest{App: "web", Revision: rev.ID, Group: "fleet", Config: config})
	if err != nil {
		t.Fatal(err)
	}
	return cl, d
}

func hostStatuses(d *api.Deployment) map[string]string {
	out := map[string]string{}
	for _, tg := range d.Targets {
		out[tg.Host] = tg.Status
	}
	return out
}

func TestHalfAtATimeWithTwoFailuresSucceeds(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: fastAgents})
	fleet(t, c, 10, api.GroupRequest{Config: "HalfAtATime"})
	dir := t.TempDir()
	cl, d := deployGroup(t, c, fleetBundle(t, filepath.Join(dir, "record"), dir, "v1", "h02", "h07"), "")
	if d.MinHealthy != 5 {
		t.Fatalf("HalfAtATime of 10: min healthy %d, want 5", d.MinHealthy)
	}
	d = waitDeployment(t, cl, d.ID)
	st := hostStatuses(d)
	if d.Status != api.DeploymentSucceeded || st["h02"] != "failed" || st["h07"] != "failed" || st["h01"] != "succeeded" {
		t.Fatalf("deployment %s (%s): %v", d.Status, d.Message, st)
	}
	g, err := cl.GroupGet(context.Background(), "web", "fleet", nil)
	if err != nil || g.CurrentRevision != d.Revision {
		t.Fatalf("group after success: %+v %v", g, err)
	}
	for _, m := range g.Members {
		want := "healthy"
		if m.Host == "h02" || m.Host == "h07" {
			want = "unhealthy"
		}
		if m.Health != want {
			t.Fatalf("member %s health %s, want %s", m.Host, m.Health, want)
		}
	}
}

func TestCustomMinimumBrokenStopsAndFails(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: fastAgents})
	fleet(t, c, 4, api.GroupRequest{})
	ctx := context.Background()
	if _, err := c.Client(0).ConfigCreate(ctx, api.DeploymentConfig{Name: "three", Kind: "HOST_COUNT", Value: 3}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	record := filepath.Join(dir, "record")
	// HOST_COUNT 3 of 4: one at a time; the first failure leaves 3 healthy and a host still to
	// deploy, which can no longer happen without dropping below 3.
	cl, d := deployGroup(t, c, fleetBundle(t, record, dir, "v1", "h01"), "three")
	d = waitDeployment(t, cl, d.ID)
	st := hostStatuses(d)
	if d.Status != api.DeploymentFailed || !strings.Contains(d.Message, "3") || st["h01"] != "failed" || st["h02"] != "skipped" {
		t.Fatalf("deployment %s (%q): %v", d.Status, d.Message, st)
	}
	raw, _ := os.ReadFile(record)
	if strings.Contains(string(raw), "h02") {
		t.Fatalf("a host was started after the minimum was broken:\n%s", raw)
	}
}

func TestOneAtATimeLastHostException(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: fastAgents})
	fleet(t, c, 3, api.GroupRequest{})
	dir := t.TempDir()
	record := filepath.Join(dir, "record")
	cl, d := deployGroup(t, c, fleetBundle(t, record, dir, "v1", "h03"), "")
	d = waitDeployment(t, cl, d.ID)
	if d.Status != api.DeploymentSucceeded || hostStatuses(d)["h03"] != "failed" {
		t.Fatalf("OneAtATime with only the last host failing: %s (%s) %v", d.Status, d.Message, hostStatuses(d))
	}
	// One at a time: the record shows each host's events together, never interleaved.
	raw, _ := os.ReadFile(record)
	var order []string
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		h := strings.Fields(line)[0]
		if len(order) == 0 || order[len(order)-1] != h {
			order = append(order, h)
		}
	}
	if strings.Join(order, ",") != "h01,h02,h03" {
		t.Fatalf("hosts ran interleaved or out of order: %v\n%s", order, raw)
	}
	// The next deployment puts the unhealthy host first.
	if err := os.Remove(record); err != nil {
		t.Fatal(err)
	}
	_, d2 := deployGroup(t, c, fleetBundle(t, record, dir, "v2"), "")
	if d2 = waitDeployment(t, cl, d2.ID); d2.Status != api.DeploymentSucceeded {
		t.Fatalf("second deployment %s: %s", d2.Status, d2.Message)
	}
	raw, _ = os.ReadFile(record)
	first, _, _ := strings.Cut(string(raw), "\n")
	if !strings.HasPrefix(first, "h03 ") && !strings.Contains(first, "/agent-h03/") { // ApplicationStop lines name the folder
		t.Fatalf("the unhealthy host did not go first:\n%s\n%+v", raw, d2.Targets)
	}
}

func TestImmediateFailureWhenMinimumExceedsHealthy(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: fastAgents})
	fleet(t, c, 2, api.GroupRequest{})
	if _, err := c.Client(0).ConfigCreate(context.Background(), api.DeploymentConfig{Name: "all", Kind: "HOST_COUNT", Value: 2}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	record := filepath.Join(dir, "record")
	_, d := deployGroup(t, c, fleetBundle(t, record, dir, "v1"), "all")
	if d.Status != api.DeploymentFailed || d.EndTime == nil || !strings.Contains(d.Message, "2") {
		t.Fatalf("want an immediate failure naming the numbers, got %s %q", d.Status, d.Message)
	}
	if _, err := os.Stat(record); err == nil {
		t.Fatal("a host ran although the deployment failed at once")
	}
}

func TestSecondDeploymentToAGroupIsRefused(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: fastAgents})
	fleet(t, c, 2, api.GroupRequest{})
	dir := t.TempDir()
	started, release := filepath.Join(dir, "started"), filepath.Join(dir, "release")
	b := hookBundle(t, filepath.Join(dir, "record"), filepath.Join(dir, "i"), map[string]string{
		"BeforeInstall": fmt.Sprintf("#!/bin/sh\ntouch %s\nwhile [ ! -e %s ]; do sleep 0.05; done\n", started, release),
	})
	cl, d := deployGroup(t, c, b, "")
	testutil.Eventually(t, 30*time.Second, func() error { _, err := os.Stat(started); return err })
	_, err := cl.DeploymentCreate(context.Background(), api.DeploymentCreateRequest{App: "web", Revision: d.Revision, Group: "fleet"})
	if !api.IsConflict(err) || !strings.Contains(err.Error(), d.ID) {
		t.Fatalf("second deployment: want a conflict naming %s, got %v", d.ID, err)
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitDeployment(t, cl, d.ID)
}

func TestAutomaticRollbackRestoresThePreviousRevision(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: fastAgents})
	fleet(t, c, 3, api.GroupRequest{Config: "AllAtOnce", AutoRollback: api.RollbackOnFailure})
	dir := t.TempDir()
	record := filepath.Join(dir, "record")
	cl, d1 := deployGroup(t, c, fleetBundle(t, record, dir, "v1"), "")
	if d1 = waitDeployment(t, cl, d1.ID); d1.Status != api.DeploymentSucceeded {
		t.Fatalf("v1: %s %s", d1.Status, d1.Message)
	}
	// v2 fails everywhere: AllAtOnce needs one success.
	_, d2 := deployGroup(t, c, fleetBundle(t, record, dir, "v2", "h01", "h02", "h03"), "")
	d2 = waitDeployment(t, cl, d2.ID)
	if d2.Status != api.DeploymentFailed || d2.RolledBack == "" {
		t.Fatalf("v2: %s, rolled back by %q", d2.Status, d2.RolledBack)
	}
	rb := waitDeployment(t, cl, d2.RolledBack)
	if rb.Status != api.DeploymentSucceeded || rb.Revision != d1.Revision || rb.RollbackOf != d2.ID {
		t.Fatalf("rollback %s of revision %s (want %s): %s", rb.Status, rb.Revision, d1.Revision, rb.Message)
	}
	for _, h := range []string{"h01", "h02", "h03"} {
		v, err := os.ReadFile(filepath.Join(dir, h, "version"))
		if err != nil || strings.TrimSpace(string(v)) != "v1" {
			t.Fatalf("%s has version %q after the rollback, want v1 (%v)", h, v, err)
		}
	}
	g, _ := cl.GroupGet(context.Background(), "web", "fleet", nil)
	if g.CurrentRevision != d1.Revision {
		t.Fatalf("group revision %s, want %s", g.CurrentRevision, d1.Revision)
	}
}

func TestLeaderKilledMidRolloutSameOutcome(t *testing.T) {
	c := testutil.NewCluster(t, 3, testutil.Options{Tweak: fastAgents})
	fleet(t, c, 4, api.GroupRequest{})
	dir := t.TempDir()
	started, release := filepath.Join(dir, "started"), filepath.Join(dir, "release")
	record := filepath.Join(dir, "record")
	b := fleetBundle(t, record, dir, "v1", "h04") // OneAtATime: the last host may fail
	// Hold the second host's BeforeInstall until the leader is gone.
	b2 := hookBundleWith(t, b, "BeforeInstall", fmt.Sprintf("#!/bin/sh\ncase \"$(pwd)\" in *agent-h02/*) touch %s; while [ ! -e %s ]; do sleep 0.05; done;; esac\n", started, release))
	_, d := deployGroup(t, c, b2, "")
	testutil.Eventually(t, 60*time.Second, func() error { _, err := os.Stat(started); return err })
	c.Kill(c.WaitLeader())
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c.WaitLeader()
	d = waitDeployment(t, c.Client(c.Running()[0]), d.ID)
	st := hostStatuses(d)
	if d.Status != api.DeploymentSucceeded || st["h04"] != "failed" || st["h01"] != "succeeded" || st["h03"] != "succeeded" {
		t.Fatalf("after leader loss: %s (%s) %v", d.Status, d.Message, st)
	}
}

func TestAgentKilledMidRolloutFailsThatHost(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: fastAgents})
	agents := fleet(t, c, 3, api.GroupRequest{Config: "AllAtOnce"})
	dir := t.TempDir()
	started := filepath.Join(dir, "started")
	b := hookBundleWith(t, fleetBundle(t, filepath.Join(dir, "record"), dir, "v1"), "BeforeInstall",
		fmt.Sprintf("#!/bin/sh\ncase \"$(pwd)\" in *agent-h02/*) touch %s; sleep 60;; esac\n", started))
	cl, d := deployGroup(t, c, b, "")
	testutil.Eventually(t, 60*time.Second, func() error { _, err := os.Stat(started); return err })
	agents[1].Kill() // h02 goes silent for good
	d = waitDeployment(t, cl, d.ID)
	st := hostStatuses(d)
	if d.Status != api.DeploymentSucceeded || st["h02"] != "failed" || st["h01"] != "succeeded" {
		t.Fatalf("AllAtOnce with a dead host: %s (%s) %v", d.Status, d.Message, st)
	}
	for _, tg := range d.Targets {
		if tg.Host == "h02" && !strings.Contains(tg.Message, "not heard from") {
			t.Fatalf("h02 failed for another reason: %q", tg.Message)
		}
	}
}
