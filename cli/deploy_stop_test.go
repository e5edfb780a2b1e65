package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// TestDeployStop runs deploy stop against a real server with three real agents in a OneAtATime
// group whose auto-rollback is on-failure, where v1 was deployed. A v2 deployment held in its
// first host's AfterInstall: deploy stop ID exits 0 saying only "Stopped deployment ID", and
// deploy get shows it stopped with no rollback, its running host stopped and the two waiting
// ones skipped. Another, stopped with --rollback: it says it rolls back and with which
// deployment, and that rollback (of it, to v1) succeeds, as deploy get shows. A stop of a
// deployment that ended (succeeded, or stopped) exits 1 saying it already ended, and starts no
// second rollback; a stop of an unknown ID exits 1 saying not found.
func TestDeployStop(t *testing.T) {
	hosts := []string{"host-1", "host-2", "host-3"}
	_, cli := agentCluster(t, hosts...)
	if r := cli("app", "create", "web"); r.code != 0 {
		t.Fatalf("app create: %+v", r)
	}
	if r := cli("group", "create", "--app", "web", "fleet", "--host", hosts[0], "--host", hosts[1], "--host", hosts[2],
		"--config", "OneAtATime", "--auto-rollback", "on-failure"); r.code != 0 {
		t.Fatalf("group create: %+v", r)
	}
	var v1 api.Revision
	decodeJSON(t, cli("revision", "push", "--app", "web", "--description", "v1", simpleBundle(t, "v1", false), "--output", "json"), &v1)
	get := func(id string) api.Deployment {
		t.Helper()
		var d api.Deployment
		decodeJSON(t, cli("deploy", "get", id, "--consistent", "--output", "json"), &d)
		return d
	}
	deployV1 := func() string {
		t.Helper()
		var d api.Deployment
		decodeJSON(t, cli("deploy", "create", "--app", "web", "--revision", v1.ID, "--group", "fleet", "--output", "json"), &d)
		if r := cli("deploy", "watch", d.ID); r.code != 0 {
			t.Fatalf("deploy watch of v1 %s: %+v", d.ID, r)
		}
		return d.ID
	}
	d0 := deployV1()

	// held creates a deployment of a bundle whose AfterInstall waits for a release file, and
	// returns its ID and that file once the first host runs the hook.
	dir := t.TempDir()
	held := func(name string) (string, string) {
		t.Helper()
		started, release := filepath.Join(dir, name+".started"), filepath.Join(dir, name+".release")
		var rev api.Revision
		decodeJSON(t, cli("revision", "push", "--app", "web", "--description", name, waitingBundle(t, started, release), "--output", "json"), &rev)
		var d api.Deployment
		decodeJSON(t, cli("deploy", "create", "--app", "web", "--revision", rev.ID, "--group", "fleet", "--output", "json"), &d)
		testutil.Eventually(t, 60*time.Second, func() error { _, err := os.Stat(started); return err })
		return d.ID, release
	}
	release := func(file string) {
		t.Helper()
		if err := os.WriteFile(file, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// A stop without --rollback on an on-failure group: stopped, no rollback.
	d1, rel := held("v2")
	r := cli("deploy", "stop", d1)
	release(rel)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "Stopped deployment "+d1 {
		t.Fatalf("deploy stop %s: %+v; want exit 0 and only %q", d1, r, "Stopped deployment "+d1)
	}
	got := get(d1)
	if got.Status != api.DeploymentStopped || got.EndTime == nil || got.RolledBack != "" {
		t.Fatalf("deploy get after deploy stop: %s (%s), rolled back by %q; want stopped, no rollback", got.Status, got.Message, got.RolledBack)
	}
	count, states := map[string]int{}, []string{}
	for _, tg := range got.Targets {
		count[tg.Status]++
		states = append(states, tg.Host+":"+tg.Status)
	}
	if count["stopped"] != 1 || count["skipped"] != 2 {
		t.Fatalf("targets after deploy stop: %v; want one stopped, two skipped", states)
	}
	if r := cli("deploy", "get", d1); r.code != 0 || !strings.Contains(r.stdout, "stopped by the user") || !strings.Contains(r.stdout, "skipped") {
		t.Errorf("deploy get %s: %+v; want the stopped host and the skipped ones", d1, r)
	}

	// The stopped host is unhealthy now; v1 again makes the whole group healthy for the next.
	deployV1()

	// A stop with --rollback: stopped, and a rollback to v1 that succeeds.
	d2, rel := held("v3")
	r = cli("deploy", "stop", d2, "--rollback")
	release(rel)
	got = get(d2)
	rb := got.RolledBack
	if r.code != 0 || rb == "" || strings.TrimSpace(r.stdout) != fmt.Sprintf("Stopped deployment %s; rolling back with %s", d2, rb) {
		t.Fatalf("deploy stop %s --rollback: %+v, deployment rolled back by %q; want exit 0 naming the rollback", d2, r, rb)
	}
	if got.Status != api.DeploymentStopped {
		t.Fatalf("deploy get after deploy stop --rollback: %s (%s)", got.Status, got.Message)
	}
	if r := cli("deploy", "watch", rb); r.code != 0 {
		t.Fatalf("deploy watch of the rollback %s: %+v; want exit 0", rb, r)
	}
	if back := get(rb); back.Status != api.DeploymentSucceeded || back.Revision != v1.ID || back.RollbackOf != d2 {
		t.Fatalf("rollback %s: %s of %s, rollback of %q (%s); want succeeded, %s, %s", rb, back.Status, back.Revision, back.RollbackOf, back.Message, v1.ID, d2)
	}

	// Stops of ended deployments and of an unknown one.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{d0}, "already ended (succeeded)"},
		{[]string{d2, "--rollback"}, "already ended (stopped)"},
		{[]string{"d-nowhere"}, "not found"},
	} {
		r := cli(append([]string{"deploy", "stop"}, tc.args...)...)
		if r.code != ExitFailure || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stdout, "Stopped") {
			t.Errorf("deploy stop %v: %+v; want exit %d saying %q", tc.args, r, ExitFailure, tc.want)
		}
	}
	if again := get(d2); again.RolledBack != rb || again.Status != api.DeploymentStopped {
		t.Errorf("after a second stop --rollback, %s is %s, rolled back by %q; want %q as before", d2, again.Status, again.RolledBack, rb)
	}
	if d := get(d0); d.Status != api.DeploymentSucceeded {
		t.Errorf("after a stop of the ended %s, it is %s", d0, d.Status)
	}
}
