package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// TestKVCommands runs put, get, list and delete, with check-and-set, against a real server.
func TestKVCommands(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	cli := func(args ...string) result {
		return runWith(t, ctx, nil, append([]string{"--addr", c.URL(0), "--token", testutil.ManagementToken}, args...)...)
	}

	r := cli("kv", "put", "builds/cache/max-size", "10GiB", "--cas", "0", "--output", "json")
	var e api.KVEntry
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &e) != nil || string(e.Value) != "10GiB" || e.ModifyIndex == 0 {
		t.Fatalf("put --cas 0: %+v", r)
	}
	if r := cli("kv", "put", "builds/cache/max-size", "1GiB", "--cas", "0"); r.code == 0 || !strings.Contains(r.stderr, "already exists") {
		t.Fatalf("put --cas 0 on an existing key: %+v", r)
	}
	if r := cli("kv", "get", "builds/cache/max-size"); r.code != 0 || r.stdout != "10GiB\n" {
		t.Fatalf("get: %+v", r)
	}
	stale := e.ModifyIndex
	r = cli("kv", "put", "builds/cache/max-size", "20GiB", "--cas", itoa(stale))
	if r.code != 0 || !strings.Contains(r.stdout, `Wrote "builds/cache/max-size" (5 bytes, modify index`) {
		t.Fatalf("put --cas current: %+v", r)
	}
	if r := cli("kv", "put", "builds/cache/max-size", "30GiB", "--cas", itoa(stale)); r.code == 0 || !strings.Contains(r.stderr, "not "+itoa(stale)) {
		t.Fatalf("put --cas stale: %+v", r)
	}
	file := filepath.Join(t.TempDir(), "ssh_config")
	if err := os.WriteFile(file, []byte("Host *\n  User git\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := cli("kv", "put", "builds/ssh-config", "--file", file); r.code != 0 {
		t.Fatalf("put --file: %+v", r)
	}
	if r := cli("kv", "get", "builds/ssh-config"); r.stdout != "Host *\n  User git\n" {
		t.Fatalf("get of a file's value: %+v", r)
	}
	if r := cli("kv", "put", "console/theme", "dark"); r.code != 0 {
		t.Fatalf("put: %+v", r)
	}
	r = cli("kv", "list", "builds/")
	if r.code != 0 || !strings.Contains(r.stdout, "builds/cache/max-size") || !strings.Contains(r.stdout, "builds/ssh-config") || strings.Contains(r.stdout, "console/theme") {
		t.Fatalf("list builds/: %+v", r)
	}
	r = cli("kv", "get", "builds/cache/max-size", "--detailed")
	if r.code != 0 || !strings.Contains(r.stdout, "20GiB") || !strings.Contains(r.stdout, "Modify Index") {
		t.Fatalf("get --detailed: %+v", r)
	}

	for _, args := range [][]string{
		{"kv", "put", "k"},
		{"kv", "put", "k", "v", "--file", file},
		{"kv", "delete", "k", "--cas", "0"},
		{"kv", "list", "a", "b"},
	} {
		if r := cli(args...); r.code != 2 {
			t.Errorf("%v: want a usage error (exit 2), got %+v", args, r)
		}
	}
	if r := cli("kv", "put", "/abs", "v"); r.code == 0 || !strings.Contains(r.stderr, "not a relative path") {
		t.Fatalf("put a bad key: %+v", r)
	}

	if r := cli("kv", "delete", "console/theme", "--cas", itoa(stale)); r.code == 0 || !strings.Contains(r.stderr, "not "+itoa(stale)) {
		t.Fatalf("delete --cas stale: %+v", r)
	}
	if r := cli("kv", "delete", "console/theme"); r.code != 0 || !strings.Contains(r.stdout, "Deleted") {
		t.Fatalf("delete: %+v", r)
	}
	if r := cli("kv", "get", "console/theme"); r.code == 0 || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("get after delete: %+v", r)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
