package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/config"
)

// syncBuffer is an output the test reads while the command still writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// background runs the CLI in a goroutine; the result arrives on the channel once it exits.
func background(ctx context.Context, stdout, stderr *syncBuffer, args ...string) <-chan int {
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, args, Options{Stdout: stdout, Stderr: stderr, Getenv: func(string) string { return "" }})
	}()
	return done
}

// waitingBundle writes a bundle folder whose every hook says hello, and whose AfterInstall says
// "waiting", touches started and waits for release to exist before it says "released". It also
// ends once started is gone (the test's folder removed), so a hook whose agent the test killed
// does not outlive the test.
func waitingBundle(t *testing.T, started, release string) string {
	t.Helper()
	dir := t.TempDir()
	var spec strings.Builder
	spec.WriteString("version: 0.0\nos: linux\nhooks:\n")
	for _, ev := range []string{"BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService"} {
		body := fmt.Sprintf("#!/bin/sh\necho hello from %s\n", ev)
		if ev == "AfterInstall" {
			body = fmt.Sprintf("#!/bin/sh\necho waiting\ntouch %s\nwhile [ ! -e %s ] && [ -e %s ]; do sleep 0.05; done\necho released\n", started, release, started)
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
	if err := os.WriteFile(filepath.Join(dir, "appspec.yml"), []byte(spec.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// watchScenario is a 3-server cluster with one host, and a deployment to it held in
// AfterInstall until release is written.
type watchScenario struct {
	c                *testutil.Cluster
	dir              string
	started, release string
	cli              func(addr string, args ...string) result
}

func newWatchScenario(t *testing.T) *watchScenario {
	t.Helper()
	c := testutil.NewCluster(t, 3, testutil.Options{Tweak: func(_ int, cfg *config.Config) {
		cfg.Agents.Heartbeat = 300 * time.Millisecond
		cfg.Agents.HostTimeout = 10 * time.Second
	}})
	testutil.StartAgent(t, c, "host-1")
	c.WaitHost("host-1")
	s := &watchScenario{c: c, dir: t.TempDir()}
	s.cli = func(addr string, args ...string) result {
		return runWith(t, t.Context(), nil, append([]string{"--addr", addr, "--token", testutil.ManagementToken}, args...)...)
	}
	if r := s.cli(c.URL(0), "app", "create", "web"); r.code != 0 {
		t.Fatalf("app create: %+v", r)
	}
	return s
}

// push pushes a fresh waiting bundle and returns its revision ID.
func (s *watchScenario) push(t *testing.T, name string) string {
	t.Helper()
	s.started, s.release = filepath.Join(s.dir, name+".started"), filepath.Join(s.dir, name+".release")
	r := s.cli(s.c.URL(s.c.Running()[0]), "revision", "push", "--app", "web", "--description", name, waitingBundle(t, s.started, s.release), "--output", "json")
	var rev struct{ ID string }
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rev) != nil {
		t.Fatalf("revision push: %+v", r)
	}
	return rev.ID
}

// deploy pushes a fresh waiting bundle and creates a deployment of it, returning its ID.
func (s *watchScenario) deploy(t *testing.T, name string) string {
	t.Helper()
	rev := s.push(t, name)
	r := s.cli(s.c.URL(s.c.Running()[0]), "deploy", "create", "--app", "web", "--revision", rev, "--host", "host-1", "--output", "json")
	var d struct{ ID string }
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &d) != nil {
		t.Fatalf("deploy create: %+v", r)
	}
	return d.ID
}

// waitFor waits until out holds want and the hook has started.
func (s *watchScenario) waitFor(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	testutil.Eventually(t, 60*time.Second, func() error {
		if _, err := os.Stat(s.started); err != nil {
			return err
		}
		if !strings.Contains(out.String(), want) {
			return fmt.Errorf("the watch has not printed %q yet: %q", want, out.String())
		}
		return nil
	})
}

// TestWatchSurvivesItsServer kills the server `deploy watch` is connected to (the leader, the
// only address it was given) in the middle of a deployment: the watch goes on from another
// server of the cluster without printing anything twice, and exits 0 when the deployment
// succeeds. Then every server dies during a deploy create --watch: it exits with
// ExitServersLost and says how to watch again.
func TestWatchSurvivesItsServer(t *testing.T) {
	s := newWatchScenario(t)
	id := s.deploy(t, "first")
	leader := s.c.WaitLeader()

	var out, errb syncBuffer
	done := background(t.Context(), &out, &errb, "--addr", s.c.URL(leader), "--token", testutil.ManagementToken, "deploy", "watch", id)
	s.waitFor(t, &out, "| waiting")
	s.c.Kill(leader)
	if err := os.WriteFile(s.release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var code int
	select {
	case code = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the watch did not end; stdout %q stderr %q", out.String(), errb.String())
	}
	stdout := out.String()
	if code != ExitOK || !strings.Contains(stdout, "Deployment "+id+" succeeded") {
		t.Fatalf("exit %d after its server died; want 0 and the success.\nstdout:\n%s\nstderr: %s", code, stdout, errb.String())
	}
	for _, once := range []string{"| waiting", "| released", "| hello from BeforeInstall", "| hello from ValidateService",
		"AfterInstall     started", "ValidateService  succeeded"} {
		if n := strings.Count(stdout, once); n != 1 {
			t.Errorf("%q printed %d times, want once:\n%s", once, n, stdout)
		}
	}

	// Every server dies during deploy create --watch: it gives up after --reconnect-for with its
	// own exit code.
	s.c.WaitLeader()
	rev := s.push(t, "second")
	out, errb = syncBuffer{}, syncBuffer{}
	done = background(t.Context(), &out, &errb, "--addr", s.c.URL(s.c.Running()[0]), "--token", testutil.ManagementToken,
		"deploy", "create", "--app", "web", "--revision", rev, "--host", "host-1", "--watch", "--reconnect-for", "2s")
	s.waitFor(t, &out, "| waiting")
	for _, i := range s.c.Running() {
		s.c.Kill(i)
	}
	select {
	case code = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the watch did not give up; stdout %q stderr %q", out.String(), errb.String())
	}
	if code != ExitServersLost || !strings.Contains(errb.String(), "lost every server") || !strings.Contains(errb.String(), "slipway deploy watch d-") {
		t.Fatalf("exit %d, stderr %q; want %d and how to watch again", code, errb.String(), ExitServersLost)
	}
}

// TestWatchInterruptedSaysTheDeploymentGoesOn: Ctrl-C during deploy watch stops the watch, not
// the deployment, and says so with the command that watches it again.
func TestWatchInterruptedSaysTheDeploymentGoesOn(t *testing.T) {
	ctx, interrupt := context.WithCancel(t.Context())
	defer interrupt()
	var stops int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/deployments/d-1/stop":
			stops++
		case "/v1/deployments/d-1/watch":
			ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer func() { _ = ws.Close() }()
			_ = ws.WriteJSON(api.WatchMessage{Deployment: &api.Deployment{ID: "d-1", Status: api.DeploymentInProgress, ModifyIndex: 7}})
			interrupt() // the user presses Ctrl-C while the deployment runs
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					return
				}
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	res := runWith(t, ctx, nil, "--addr", srv.URL, "--token", testToken, "deploy", "watch", "d-1")
	want := "Stopped watching. Deployment d-1 keeps running; watch it again with: slipway deploy watch d-1\nError: interrupted\n"
	if res.code != ExitInterrupted || res.stderr != want || stops != 0 {
		t.Fatalf("exit %d, stderr %q, %d stops; want %d and %q", res.code, res.stderr, stops, ExitInterrupted, want)
	}
}
