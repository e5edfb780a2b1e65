//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// TestCLIThroughTheBinary (scenario 3): the CLI's exit codes and error lines, run as the real
// binary against a real single-server cluster, and a snapshot save/restore round trip.
func TestCLIThroughTheBinary(t *testing.T) {
	c := startCluster(t, 1, clusterOptions{})
	c.WaitLeader(30 * time.Second)
	c.WaitToken(30 * time.Second)
	env := c.Env(0)

	t.Run("duplicate create fails with one error line", func(t *testing.T) {
		if r := runCLI(t, "", env, "app", "create", "web"); r.code != 0 {
			t.Fatalf("first create: %s", r)
		}
		r := runCLI(t, "", env, "app", "create", "web")
		wantErrorLine(t, r, 1, `"web" already exists`)
	})

	t.Run("get of a missing app fails", func(t *testing.T) {
		r := runCLI(t, "", env, "app", "get", "missing")
		wantErrorLine(t, r, 1, `"missing" not found`)
	})

	t.Run("no token says to set SLIPWAY_TOKEN", func(t *testing.T) {
		r := runCLI(t, "", []string{"SLIPWAY_ADDR=" + c.nodes[0].URL()}, "app", "list")
		wantErrorLine(t, r, 1, "SLIPWAY_TOKEN")
		r = runCLI(t, "", []string{"SLIPWAY_ADDR=" + c.nodes[0].URL(), "SLIPWAY_TOKEN=slw_not-a-real-token-000000"}, "app", "list")
		wantErrorLine(t, r, 1, "not accepted")
	})

	t.Run("server with a bad --bootstrap-expect exits 78", func(t *testing.T) {
		cwd := t.TempDir()
		dataDir := filepath.Join(cwd, "data")
		ports := freePorts(t, 2)
		r := runCLI(t, cwd, nil, "server", "--bootstrap-expect", "12", "--data-dir", dataDir,
			"--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--raft-addr", fmt.Sprintf("127.0.0.1:%d", ports[1]), "--ssh-addr", "off")
		wantErrorLine(t, r, 78, "--bootstrap-expect")
		// Refused before doing anything: no data dir, here or at the default place.
		for _, dir := range []string{dataDir, filepath.Join(cwd, "slipway-data")} {
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("a refused configuration created %s (stat: %v)", dir, err)
			}
		}
	})

	t.Run("snapshot save and restore round trip", func(t *testing.T) {
		for _, name := range []string{"keep-1", "keep-2"} {
			if r := runCLI(t, "", env, "app", "create", name); r.code != 0 {
				t.Fatalf("create %s: %s", name, r)
			}
		}
		before := appNames(t, env)
		for _, name := range []string{"keep-1", "keep-2"} {
			if !before[name] {
				t.Fatalf("%s not listed before the snapshot: %v", name, sortedKeys(before))
			}
		}
		file := filepath.Join(t.TempDir(), "backup.snap")
		r := runCLI(t, "", env, "operator", "snapshot", "save", file)
		if r.code != 0 || !strings.Contains(r.stdout, "Saved snapshot to") {
			t.Fatalf("snapshot save: %s", r)
		}
		if st, err := os.Stat(file); err != nil || st.Size() == 0 {
			t.Fatalf("snapshot file: %v (size %d)", err, sizeOf(st))
		}
		if _, err := os.Stat(file + ".tmp"); !os.IsNotExist(err) {
			t.Errorf("snapshot save left %s.tmp behind", file)
		}
		// Saving over an existing file needs --force.
		wantErrorLine(t, runCLI(t, "", env, "operator", "snapshot", "save", file), 1, "already exists")

		// Change the state, then restore the snapshot over it.
		if r := runCLI(t, "", env, "app", "create", "after-snapshot"); r.code != 0 {
			t.Fatalf("create after-snapshot: %s", r)
		}
		if r := runCLI(t, "", env, "app", "delete", "keep-1"); r.code != 0 {
			t.Fatalf("delete keep-1: %s", r)
		}
		r = runCLI(t, "", env, "operator", "snapshot", "restore", file)
		if r.code != 0 || !strings.Contains(r.stdout, "Restored snapshot from") {
			t.Fatalf("snapshot restore: %s", r)
		}
		after := appNames(t, env)
		if d := testutil.SetDiff(before, after); d != "" {
			t.Fatalf("after restore the apps differ from the snapshot's: %s", d)
		}
		// The cluster keeps working after a restore.
		if r := runCLI(t, "", env, "app", "create", "after-restore"); r.code != 0 {
			t.Fatalf("create after restore: %s", r)
		}
	})
}

// wantErrorLine checks that r exited with code and printed nothing on stdout and exactly one
// line on stderr, "Error: ...", containing want.
func wantErrorLine(t testing.TB, r cliResult, code int, want string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d: %s", r.code, code, r)
	}
	if r.stdout != "" {
		t.Errorf("want nothing on stdout on error: %s", r)
	}
	if !strings.HasPrefix(r.stderr, "Error: ") || !strings.HasSuffix(r.stderr, "\n") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("want one line \"Error: ...\" on stderr: %s", r)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr does not mention %q: %s", want, r)
	}
}

// appNames lists the applications through the CLI (consistent read, JSON output).
func appNames(t testing.TB, env []string) map[string]bool {
	t.Helper()
	r := runCLI(t, "", env, "app", "list", "--consistent", "--output", "json")
	if r.code != 0 {
		t.Fatalf("app list: %s", r)
	}
	var apps []api.App
	if err := json.Unmarshal([]byte(r.stdout), &apps); err != nil {
		t.Fatalf("app list output is not a JSON list of apps: %v\n%s", err, r.stdout)
	}
	names := map[string]bool{}
	for _, a := range apps {
		names[a.Name] = true
	}
	return names
}

func sizeOf(st os.FileInfo) int64 {
	if st == nil {
		return -1
	}
	return st.Size()
}
