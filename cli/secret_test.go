package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// TestSecretCommands runs put (from a file, standard input and --value, with its warning), get
// (metadata and --value), list and delete, with check-and-set, against a real server; a client
// token sees metadata and is refused the value.
func TestSecretCommands(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	cli := func(args ...string) result {
		return runWith(t, ctx, nil, append([]string{"--addr", c.URL(0), "--token", testutil.ManagementToken}, args...)...)
	}

	file := filepath.Join(t.TempDir(), "password.txt")
	if err := os.WriteFile(file, []byte("hunter2"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := cli("secret", "put", "prod/db/password", "--from-file", file, "--description", "shop database", "--cas", "0", "--output", "json")
	var s api.Secret
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &s) != nil || s.Version != 1 || s.Description != "shop database" || strings.Contains(r.stdout, "hunter2") {
		t.Fatalf("put --from-file --cas 0: %+v", r)
	}
	if r.stderr != "" {
		t.Fatalf("put from a file warned: %q", r.stderr)
	}
	if r := cli("secret", "put", "prod/db/password", "--from-file", file, "--cas", "0"); r.code == 0 || !strings.Contains(r.stderr, "already exists") {
		t.Fatalf("put --cas 0 on an existing secret: %+v", r)
	}
	r = cli("secret", "put", "prod/db/password", "--value", "correct horse", "--cas", "1")
	if r.code != 0 || !strings.Contains(r.stdout, `Wrote "prod/db/password" version 2 (13 bytes`) || !strings.Contains(r.stderr, "shell history") {
		t.Fatalf("put --value: %+v (want the write and a warning)", r)
	}
	if r := cli("secret", "put", "prod/db/password", "--value", "x", "--cas", "1"); r.code == 0 || !strings.Contains(r.stderr, "at version 2, not 1") {
		t.Fatalf("put --cas stale: %+v", r)
	}
	if r := cli("secret", "get", "prod/db/password", "--value"); r.code != 0 || r.stdout != "correct horse" {
		t.Fatalf("get --value: %+v", r)
	}
	r = cli("secret", "get", "prod/db/password")
	if r.code != 0 || !strings.Contains(r.stdout, "shop database") || !strings.Contains(r.stdout, "Version") || strings.Contains(r.stdout, "correct horse") {
		t.Fatalf("get: %+v", r)
	}
	var v api.SecretValue
	if r := cli("secret", "get", "prod/db/password", "--value", "--output", "json"); r.code != 0 || json.Unmarshal([]byte(r.stdout), &v) != nil || string(v.Value) != "correct horse" || v.Version != 2 {
		t.Fatalf("get --value --output json: %+v", r)
	}

	// Standard input, taken as it is (not a terminal here).
	in, err := os.CreateTemp(t.TempDir(), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.WriteString("npm_token\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	stdin := os.Stdin
	os.Stdin = in
	r = cli("secret", "put", "ci/npm-token")
	os.Stdin = stdin
	if r.code != 0 {
		t.Fatalf("put from standard input: %+v", r)
	}
	if r := cli("secret", "get", "ci/npm-token", "--value"); r.stdout != "npm_token\n" {
		t.Fatalf("the value read from standard input: %+v", r)
	}

	r = cli("secret", "list", "prod/")
	if r.code != 0 || !strings.Contains(r.stdout, "prod/db/password") || strings.Contains(r.stdout, "ci/npm-token") || strings.Contains(r.stdout, "correct horse") {
		t.Fatalf("list prod/: %+v", r)
	}
	if r := cli("secret", "list"); r.code != 0 || !strings.Contains(r.stdout, "ci/npm-token") {
		t.Fatalf("list: %+v", r)
	}

	tk, err := c.Client(0).TokenCreate(ctx, "reader", api.TokenTypeClient, 0)
	if err != nil {
		t.Fatal(err)
	}
	reader := func(args ...string) result {
		return runWith(t, ctx, nil, append([]string{"--addr", c.URL(0), "--token", tk.SecretID}, args...)...)
	}
	if r := reader("secret", "get", "prod/db/password"); r.code != 0 || !strings.Contains(r.stdout, "shop database") {
		t.Fatalf("a client token's get: %+v", r)
	}
	if r := reader("secret", "get", "prod/db/password", "--value"); r.code == 0 || !strings.Contains(r.stderr, "secretsmanager:GetSecretValue") || strings.Contains(r.stdout+r.stderr, "correct horse") {
		t.Fatalf("a client token's get --value: %+v", r)
	}

	for _, args := range [][]string{
		{"secret", "put"},
		{"secret", "put", "a", "b"},
		{"secret", "put", "a", "--value", "v", "--from-file", file},
		{"secret", "delete", "a", "--cas", "0"},
		{"secret", "list", "a", "b"},
	} {
		if r := cli(args...); r.code != 2 {
			t.Errorf("%v: want a usage error (exit 2), got %+v", args, r)
		}
	}
	if r := cli("secret", "put", "a//b", "--value", "v"); r.code == 0 || !strings.Contains(r.stderr, "not a relative path") {
		t.Fatalf("put a bad name: %+v", r)
	}
	if r := cli("secret", "delete", "prod/db/password", "--cas", "1"); r.code == 0 || !strings.Contains(r.stderr, "not 1") {
		t.Fatalf("delete --cas stale: %+v", r)
	}
	if r := cli("secret", "delete", "prod/db/password", "--cas", "2"); r.code != 0 || !strings.Contains(r.stdout, "Deleted") {
		t.Fatalf("delete: %+v", r)
	}
	if r := cli("secret", "get", "prod/db/password"); r.code == 0 || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("get after delete: %+v", r)
	}
}
