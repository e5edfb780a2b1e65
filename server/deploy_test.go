package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/pkg/bundle"
	"github.com/slipwayhq/slipway/server/core/config"
)

// hookBundle makes a bundle whose hooks append "EVENT pwd=... app=... dep=..." to record, and
// whose files land in dest. extra maps an event to a script body used instead of the recorder.
func hookBundle(t *testing.T, record, dest string, extra map[string]string) []byte {
	t.Helper()
	dir := t.TempDir()
	events := []string{"ApplicationStop", "BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService"}
	var spec strings.Builder
	// OVERWRITE: the test's agents are "hosts" sharing one filesystem. With no dest, the
	// bundle installs no files (hosts running at once would race on shared ones).
	fmt.Fprintf(&spec, "version: 0.0\nos: linux\nfile_exists_behavior: OVERWRITE\n")
	if dest != "" {
		fmt.Fprintf(&spec, "files:\n  - source: app\n    destination: %s\n", dest)
	}
	spec.WriteString("hooks:\n")
	for _, ev := range events {
		body := fmt.Sprintf("#!/bin/sh\necho \"$LIFECYCLE_EVENT pwd=$(pwd) app=$APPLICATION_NAME dep=$DEPLOYMENT_ID group=$DEPLOYMENT_GROUP_ID\" >> %s\necho hello from $LIFECYCLE_EVENT\n", record)
		if e, ok := extra[ev]; ok {
			body = e
		}
		name := "scripts/" + strings.ToLower(ev) + ".sh"
		if err := os.MkdirAll(filepath.Join(dir, "scripts"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&spec, "  %s:\n    - location: %s\n      timeout: 60\n", ev, name)
	}
	if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app", "index.html"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "appspec.yml"), []byte(spec.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := bundle.Create(&buf, dir); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func fastAgents(_ int, cfg *config.Config) {
	cfg.Agents.Heartbeat = 300 * time.Millisecond
	cfg.Agents.HostTimeout = 3 * time.Second
	cfg.Blobs.RepairInterval = 200 * time.Millisecond
}

func waitDeployment(t *testing.T, cl *api.Client, id string) *api.Deployment {
	t.Helper()
	var d *api.Deployment
	testutil.Eventually(t, 60*time.Second, func() error {
		var err error
		d, err = cl.DeploymentGet(context.Background(), id, &api.QueryOptions{Consistent: true})
		if err != nil {
			return err
		}
		if d.EndTime == nil {
			return fmt.Errorf("deployment %s is %s", id, d.Status)
		}
		return nil
	})
	return d
}

func deployRevision(t *testing.T, c *testutil.Cluster, app string, b []byte, hosts ...string) (*api.Client, *api.Deployment) {
	t.Helper()
	ctx := context.Background()
	cl := c.Client(c.Running()[0])
	if _, err := cl.AppGet(ctx, app, &api.QueryOptions{Consistent: true}); api.IsNotFound(err) {
		if _, err := cl.AppCreate(ctx, api.AppCreateRequest{Name: app}); err != nil {
			t.Fatal(err)
		}
	}
	rev, _, err := push(t, cl, app, b)
	if err != nil {
		t.Fatal(err)
	}
	d, err := cl.DeploymentCreate(ctx, api.DeploymentCreateRequest{App: app, Revision: rev.ID, Hosts: hosts})
	if err != nil {
		t.Fatal(err)
	}
	return cl, d
}

func TestDeploymentRunsEveryHookInOrder(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: fastAgents})
	testutil.StartAgent(t, c, "host-1")
	c.WaitHost("host-1")
	dir := t.TempDir()
	record := filepath.Join(dir, "record")
	cl, d := deployRevision(t, c, "web", hookBundle(t, record, filepath.Join(dir, "installed"), nil), "host-1")

	// Watch it live over the websocket until it ends.
	var sawLines int
	err := cl.DeploymentWatch(context.Background(), d.ID, func(m api.WatchMessage) error {
		sawLines += len(m.Lines)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	d = waitDeployment(t, cl, d.ID)
	if d.Status != api.DeploymentSucceeded {
		t.Fatalf("deployment %s: %+v", d.Status, d.Targets)
	}
	raw, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		f := strings.Fields(line)
		order = append(order, f[0])
		if !strings.Contains(line, "app=web") || !strings.Contains(line, "dep="+d.ID) || !strings.Contains(line, "/deployment-archive") {
			t.Errorf("hook environment or working directory wrong: %q", line)
		}
	}
	// No ApplicationStop on the first deployment: there is no previous revision.
	if got := strings.Join(order, ","); got != "BeforeInstall,AfterInstall,ApplicationStart,ValidateService" {
		t.Fatalf("hooks ran in order %s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "installed", "index.html")); err != nil {
		t.Fatalf("Install did not copy the files: %v", err)
	}
	if sawLines == 0 {
		t.Fatal("the watch saw no output lines")
	}
	logs, err := cl.DeploymentLogs(context.Background(), d.ID, "host-1", 0)
	if err != nil || len(logs.Lines) < 4 || !strings.Contains(logs.Lines[0].Text, "hello from") {
		t.Fatalf("logs: %+v %v", logs, err)
	}
	h, err := cl.HostGet(context.Background(), "host-1", nil)
	if err != nil || h.Revisions["web"] != d.Revision {
		t.Fatalf("host's current revision: %+v %v", h, err)
	}

	// The second deployment runs ApplicationStop from the first revision.
	_, d2 := deployRevision(t, c, "web", hookBundle(t, record, filepath.Join(dir, "installed"), map[string]string{"BeforeInstall": "#!/bin/sh\necho second >> " + record + "\n"}), "host-1")
	if d2 = waitDeployment(t, cl, d2.ID); d2.Status != api.DeploymentSucceeded {
		t.Fatalf("second deployment %s: %+v", d2.Status, d2.Targets)
	}
	raw, _ = os.ReadFile(record)
	if !strings.Contains(string(raw), "ApplicationStop pwd=") || !strings.Contains(string(raw), "dep="+d.ID+" group") {
		t.Fatalf("ApplicationStop of the previous revision did not run: %s", raw)
	}
}

func TestFailingScriptStopsTheDeployment(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: fastAgents})
	testutil.StartAgent(t, c, "host-1")
	c.WaitHost("host-1")
	dir := t.TempDir()
	record := filepath.Join(dir, "record")
	cl, d := deployRevision(t, c, "web", hookBundle(t, record, filepath.Join(dir, "installed"), map[string]string{
		"AfterInstall": "#!/bin/sh\necho broken >&2\nexit 3\n",
	}), "host-1")
	d = waitDeployment(t, cl, d.ID)
	if d.Status != api.DeploymentFailed {
		t.Fatalf("status %s", d.Status)
	}
	raw, _ := os.ReadFile(record)
	if strings.Contains(string(raw), "ApplicationStart") || !strings.Contains(string(raw), "BeforeInstall") {
		t.Fatalf("events after the failure ran, or earlier ones did not: %s", raw)
	}
	var failed *api.LifecycleEvent
	for i, e := range d.Targets[0].Events {
		if e.Script != "" && e.Status == "failed" {
			failed = &d.Targets[0].Events[i]
		}
	}
	if failed == nil || failed.Name != "AfterInstall" || failed.ExitCode != 3 {
		t.Fatalf("failed script record %+v in %+v", failed, d.Targets[0].Events)
	}
}

func TestAgentKilledMidHookReportsAfterRestart(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: fastAgents})
	a := testutil.StartAgent(t, c, "host-1")
	c.WaitHost("host-1")
	dir := t.TempDir()
	started := filepath.Join(dir, "started")
	cl, d := deployRevision(t, c, "web", hookBundle(t, filepath.Join(dir, "record"), filepath.Join(dir, "installed"), map[string]string{
		"ApplicationStart": "#!/bin/sh\ntouch " + started + "\nsleep 30\n",
	}), "host-1")
	testutil.Eventually(t, 30*time.Second, func() error {
		_, err := os.Stat(started)
		return err
	})
	a.Kill()
	a.Start()
	d = waitDeployment(t, cl, d.ID)
	if d.Status != api.DeploymentFailed {
		t.Fatalf("status %s", d.Status)
	}
	found := false
	for _, e := range d.Targets[0].Events {
		if e.Name == "ApplicationStart" && e.Status == "failed" && strings.Contains(e.Result+e.Message, "restart") {
			found = true
		}
	}
	if !found {
		t.Fatalf("ApplicationStart not reported failed after agent restart: %+v", d.Targets[0].Events)
	}
}

func TestSilentHostFailsAfterTimeout(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: fastAgents})
	a := testutil.StartAgent(t, c, "host-1")
	c.WaitHost("host-1")
	dir := t.TempDir()
	started := filepath.Join(dir, "started")
	cl, d := deployRevision(t, c, "web", hookBundle(t, filepath.Join(dir, "record"), filepath.Join(dir, "installed"), map[string]string{
		"BeforeInstall": "#!/bin/sh\ntouch " + started + "\nsleep 30\n",
	}), "host-1")
	testutil.Eventually(t, 30*time.Second, func() error {
		_, err := os.Stat(started)
		return err
	})
	a.Kill() // and it never comes back
	d = waitDeployment(t, cl, d.ID)
	if d.Status != api.DeploymentFailed || !strings.Contains(d.Targets[0].Message, "not heard from") {
		t.Fatalf("status %s, target %+v", d.Status, d.Targets[0])
	}
}

func TestHostSecretActsOnlyAsItsHost(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: fastAgents})
	a := testutil.StartAgent(t, c, "host-1")
	testutil.StartAgent(t, c, "host-2")
	c.WaitHost("host-1")
	c.WaitHost("host-2")
	dir := t.TempDir()
	cl, d := deployRevision(t, c, "web", hookBundle(t, filepath.Join(dir, "record"), filepath.Join(dir, "installed"), nil), "host-2")
	waitDeployment(t, cl, d.ID)
	raw, err := os.ReadFile(filepath.Join(a.DataDir, "identity.json"))
	if err != nil {
		t.Fatal(err)
	}
	secret := between(string(raw), `"secret": "`, `"`)
	get := func(path string) int {
		req, _ := http.NewRequest("GET", c.URL(0)+path, nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if s := get("/v1/agent/deployments/" + d.ID + "/bundle"); s != http.StatusForbidden {
		t.Fatalf("host-1 fetching host-2's bundle: %d, want 403", s)
	}
	if s := get("/v1/apps"); s != http.StatusUnauthorized {
		t.Fatalf("host secret on the user API: %d, want 401", s)
	}
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	j := strings.Index(s, b)
	if j < 0 {
		return ""
	}
	return s[:j]
}

// TestLeaderKilledMidDeployment kills the leader while a hook is running on a 3-node cluster:
// the agent finds another server, its reports are delivered once, and the deployment completes.
func TestLeaderKilledMidDeployment(t *testing.T) {
	c := testutil.NewCluster(t, 3, testutil.Options{Tweak: fastAgents})
	testutil.StartAgent(t, c, "host-1")
	c.WaitHost("host-1")
	dir := t.TempDir()
	started, release := filepath.Join(dir, "started"), filepath.Join(dir, "release")
	record := filepath.Join(dir, "record")
	_, d := deployRevision(t, c, "web", hookBundle(t, record, filepath.Join(dir, "installed"), map[string]string{
		"AfterInstall": fmt.Sprintf("#!/bin/sh\necho AfterInstall >> %s\ntouch %s\nwhile [ ! -e %s ]; do sleep 0.05; done\necho released\n", record, started, release),
	}), "host-1")
	testutil.Eventually(t, 30*time.Second, func() error {
		_, err := os.Stat(started)
		return err
	})
	c.Kill(c.WaitLeader())
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c.WaitLeader()
	d = waitDeployment(t, c.Client(c.Running()[0]), d.ID)
	if d.Status != api.DeploymentSucceeded {
		t.Fatalf("deployment %s after leader loss: %+v", d.Status, d.Targets[0])
	}
	raw, _ := os.ReadFile(record)
	if strings.Count(string(raw), "AfterInstall") != 1 || !strings.Contains(string(raw), "ValidateService") {
		t.Fatalf("hooks after leader loss: %s", raw)
	}
	seen := map[string]int{}
	for _, e := range d.Targets[0].Events {
		if e.Script == "" {
			seen[e.Name]++
		}
	}
	for name, n := range seen {
		if n != 1 {
			t.Fatalf("event %s recorded %d times: reports applied twice", name, n)
		}
	}
}

// hookBundleWith returns b with one hook script replaced.
func hookBundleWith(t *testing.T, b []byte, event, body string) []byte {
	t.Helper()
	dir := t.TempDir()
	if err := bundle.Unpack(bytes.NewReader(b), dir, bundle.Limits{}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "scripts", strings.ToLower(event)+".sh"), []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := bundle.Create(&buf, dir); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestEventNotStartedInTimeFailsTheHost: a host whose agent stays connected but starts no
// lifecycle event within the bound fails, long before the host timeout.
func TestEventNotStartedInTimeFailsTheHost(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: func(i int, cfg *config.Config) {
		fastAgents(i, cfg)
		cfg.Agents.HostTimeout = time.Minute
		cfg.Agents.EventStartTimeout = 2 * time.Second
	}})
	a := testutil.StartAgent(t, c, "host-1")
	c.WaitHost("host-1")
	a.Pause() // connected, silent
	dir := t.TempDir()
	cl, d := deployRevision(t, c, "web", hookBundle(t, filepath.Join(dir, "record"), filepath.Join(dir, "installed"), nil), "host-1")
	d = waitDeployment(t, cl, d.ID)
	if d.Status != api.DeploymentFailed || !strings.Contains(d.Targets[0].Message, "did not start its next lifecycle event") {
		t.Fatalf("status %s, target %+v", d.Status, d.Targets[0])
	}
}
