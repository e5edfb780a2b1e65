package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

type result struct {
	stdout, stderr string
	code           int
}

// runWith runs the CLI with args and an environment made of env only.
func runWith(t *testing.T, ctx context.Context, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(ctx, args, Options{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// runAgainst runs the CLI against f with the accepted token.
func runAgainst(t *testing.T, f *fakeAPI, args ...string) result {
	t.Helper()
	return runWith(t, context.Background(), nil, append([]string{"--addr", f.srv.URL, "--token", testToken}, args...)...)
}

func requestLines(reqs []request) []string {
	out := []string{}
	for _, r := range reqs {
		out = append(out, r.String())
	}
	return out
}

func TestCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string   // exact stdout, when set
		outHas   []string // substrings of stdout
		wantErr  string   // exact stderr
		wantReqs []string
		wantBody string // body of the last request, when set
	}{
		{
			name:     "app create",
			args:     []string{"app", "create", "billing", "--description", "Invoices"},
			wantOut:  "Created app \"billing\"\n",
			wantReqs: []string{"POST /v1/apps"},
			wantBody: `{"name":"billing","description":"Invoices"}`,
		},
		{
			name:     "app create conflict",
			args:     []string{"app", "create", "web"},
			wantCode: ExitFailure,
			wantErr:  "Error: app \"web\" already exists\n",
			wantReqs: []string{"POST /v1/apps"},
		},
		{
			name: "app list follows pages",
			args: []string{"app", "list"},
			wantOut: "NAME   DESCRIPTION           CREATED\n" +
				"api    Public API            2025-01-02T03:04:05Z\n" +
				"web    Web site with a tab   2025-02-03T04:05:06Z\n",
			wantReqs: []string{"GET /v1/apps", "GET /v1/apps?next=page-2"},
		},
		{
			name:     "app list consistent",
			args:     []string{"app", "ls", "--consistent"},
			outHas:   []string{"api", "web"},
			wantReqs: []string{"GET /v1/apps?consistent=true", "GET /v1/apps?consistent=true&next=page-2"},
		},
		{
			name: "app get",
			args: []string{"app", "get", "web"},
			wantOut: "Name          web\n" +
				"Description   Web site with a tab\n" +
				"Created       2025-02-03T04:05:06Z\n" +
				"Create Index  5\n" +
				"Modify Index  9\n",
			wantReqs: []string{"GET /v1/apps/web"},
		},
		{
			name:     "app get not found",
			args:     []string{"app", "get", "nope"},
			wantCode: ExitFailure,
			wantErr:  "Error: app \"nope\" not found\n",
			wantReqs: []string{"GET /v1/apps/nope"},
		},
		{
			name:     "app get escapes the name",
			args:     []string{"app", "get", "a/b c"},
			wantCode: ExitFailure,
			wantReqs: []string{"GET /v1/apps/a%2Fb%20c"},
		},
		{
			name:     "app update with precondition",
			args:     []string{"app", "update", "web", "--description", "EU site", "--cas", "9"},
			wantOut:  "Updated app \"web\" (modify index 12)\n",
			wantReqs: []string{"PUT /v1/apps/web?cas=9"},
			wantBody: `{"description":"EU site"}`,
		},
		{
			name:     "app update stale precondition",
			args:     []string{"app", "update", "web", "--description", "EU site", "--cas", "5"},
			wantCode: ExitFailure,
			wantErr:  "Error: application \"web\" was modified at index 9, not 5\n",
			wantReqs: []string{"PUT /v1/apps/web?cas=5"},
		},
		{
			name:     "app update needs a description",
			args:     []string{"app", "update", "web"},
			wantCode: ExitUsage,
		},
		{
			name:     "group get needs --app",
			args:     []string{"group", "get", "prod"},
			wantCode: ExitUsage,
			wantErr:  "Error: --app is required (see 'slipway group get --help')\n",
		},
		{
			name:     "revision list needs --app",
			args:     []string{"revision", "list"},
			wantCode: ExitUsage,
			wantErr:  "Error: --app is required (see 'slipway revision list --help')\n",
		},
		{
			name:     "app delete",
			args:     []string{"app", "delete", "web"},
			wantOut:  "Deleted app \"web\"\n",
			wantReqs: []string{"DELETE /v1/apps/web"},
		},
		{
			name:     "app delete not found",
			args:     []string{"app", "rm", "nope"},
			wantCode: ExitFailure,
			wantErr:  "Error: app \"nope\" not found\n",
			wantReqs: []string{"DELETE /v1/apps/nope"},
		},
		{
			name:     "app get without name",
			args:     []string{"app", "get"},
			wantCode: ExitUsage,
			wantErr:  "Error: missing NAME: \"slipway app get\" takes NAME (see 'slipway app get --help')\n",
		},
		{
			name:     "app get with empty name",
			args:     []string{"app", "get", ""},
			wantCode: ExitUsage,
			wantErr:  "Error: NAME must not be empty (see 'slipway app get --help')\n",
		},
		{
			name:     "app list with an argument",
			args:     []string{"app", "list", "extra"},
			wantCode: ExitUsage,
			wantErr:  "Error: \"slipway app list\" takes no arguments, got \"extra\" (see 'slipway app list --help')\n",
		},
		{
			name:     "unknown flag",
			args:     []string{"app", "list", "--bogus"},
			wantCode: ExitUsage,
			wantErr:  "Error: unknown flag: --bogus (see 'slipway app list --help')\n",
		},
		{
			name:     "unknown verb suggests",
			args:     []string{"app", "lst"},
			wantCode: ExitUsage,
			wantErr:  "Error: unknown command \"lst\" for \"slipway app\"; did you mean \"list\"? (see 'slipway app --help')\n",
		},
		{
			name:     "unknown noun",
			args:     []string{"nope"},
			wantCode: ExitUsage,
			wantErr:  "Error: unknown command \"nope\" for \"slipway\" (see 'slipway --help')\n",
		},
		{
			name:   "noun alone prints help",
			args:   []string{"app"},
			outHas: []string{"Available Commands:", "create", "Examples:"},
		},
		{
			name:     "bad output format",
			args:     []string{"app", "list", "--output", "yaml"},
			wantCode: ExitUsage,
			wantErr:  "Error: invalid --output \"yaml\": want table or json (see 'slipway app list --help')\n",
		},
		{
			name: "acl bootstrap",
			args: []string{"acl", "bootstrap"},
			outHas: []string{
				"Secret ID:    boot-secret", "Accessor ID:  acc-1", "will not be shown again",
				"export SLIPWAY_TOKEN=boot-secret",
			},
			wantReqs: []string{"POST /v1/acl/bootstrap"},
			wantBody: `{}`,
		},
		{
			name:     "token create",
			args:     []string{"token", "create", "--name", "ci", "--ttl", "24h"},
			outHas:   []string{"Secret ID    new-secret", "Accessor ID  acc-new", "Expires      2025-01-03T03:04:05Z", "will not be shown again"},
			wantReqs: []string{"POST /v1/tokens"},
			wantBody: `{"name":"ci","type":"client","ttl":"24h0m0s"}`,
		},
		{
			name:     "token create management",
			args:     []string{"token", "create", "--name", "ops", "--type", "management"},
			outHas:   []string{"Type         management", "Expires      never"},
			wantReqs: []string{"POST /v1/tokens"},
			wantBody: `{"name":"ops","type":"management"}`,
		},
		{
			name:     "token create without name",
			args:     []string{"token", "create"},
			wantCode: ExitUsage,
			wantErr:  "Error: --name is required (see 'slipway token create --help')\n",
		},
		{
			name:     "token create bad type",
			args:     []string{"token", "create", "--name", "x", "--type", "root"},
			wantCode: ExitUsage,
			wantErr:  "Error: invalid --type \"root\": want client or management (see 'slipway token create --help')\n",
		},
		{
			name:     "token create bad ttl",
			args:     []string{"token", "create", "--name", "x", "--ttl", "soon"},
			wantCode: ExitUsage,
		},
		{
			name: "token list",
			args: []string{"token", "list", "--consistent"},
			wantOut: "ACCESSOR ID   NAME        TYPE         CREATED                EXPIRES\n" +
				"acc-1         bootstrap   management   2025-01-02T03:04:05Z   never\n" +
				"acc-2         ci          client       2025-01-02T03:04:05Z   2025-02-03T04:05:06Z\n",
			wantReqs: []string{"GET /v1/tokens?consistent=true", "GET /v1/tokens?consistent=true&next=t2"},
		},
		{
			name:     "token get",
			args:     []string{"token", "get", "acc-2"},
			outHas:   []string{"Accessor ID  acc-2", "Name         ci", "Expires      2025-02-03T04:05:06Z"},
			wantReqs: []string{"GET /v1/tokens/acc-2"},
		},
		{
			name:     "token get not found",
			args:     []string{"token", "get", "acc-9"},
			wantCode: ExitFailure,
			wantErr:  "Error: token not found\n",
			wantReqs: []string{"GET /v1/tokens/acc-9"},
		},
		{
			name:     "token self",
			args:     []string{"token", "self"},
			outHas:   []string{"Accessor ID  acc-1", "Type         management"},
			wantReqs: []string{"GET /v1/tokens/self"},
		},
		{
			name:     "token revoke",
			args:     []string{"token", "revoke", "acc-2"},
			wantOut:  "Revoked token acc-2\n",
			wantReqs: []string{"DELETE /v1/tokens/acc-2"},
		},
		{
			name: "raft list-peers",
			args: []string{"operator", "raft", "list-peers"},
			wantOut: "ID       RAFT ADDRESS    HTTP ADDRESS           STATE      VOTER   REACHABLE   LAST CONTACT\n" +
				"node-1   10.0.0.1:4647   http://10.0.0.1:7400   leader     true    true        0s\n" +
				"node-2   10.0.0.2:4647   http://10.0.0.2:7400   follower   true    false       5m12s\n" +
				"node-3   10.0.0.3:4647   -                      follower   false   false       never\n",
			wantReqs: []string{"GET /v1/operator/raft"},
		},
		{
			name:     "raft remove-peer",
			args:     []string{"operator", "raft", "remove-peer", "node-3"},
			wantOut:  "Removed peer \"node-3\"\n",
			wantReqs: []string{"DELETE /v1/operator/raft/peers/node-3"},
		},
		{
			name:     "raft remove-peer without id",
			args:     []string{"operator", "raft", "remove-peer"},
			wantCode: ExitUsage,
			wantErr:  "Error: missing ID: \"slipway operator raft remove-peer\" takes ID (see 'slipway operator raft remove-peer --help')\n",
		},
		{
			name:     "status leader",
			args:     []string{"status", "leader"},
			wantOut:  "ID            node-1\nRaft Address  10.0.0.1:4647\nHTTP Address  http://10.0.0.1:7400\n",
			wantReqs: []string{"GET /v1/status/leader"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAPI(t)
			res := runAgainst(t, f, tt.args...)
			if res.code != tt.wantCode {
				t.Fatalf("exit code = %d, want %d\nstdout: %s\nstderr: %s", res.code, tt.wantCode, res.stdout, res.stderr)
			}
			if tt.wantOut != "" && res.stdout != tt.wantOut {
				t.Errorf("stdout:\n%s\nwant:\n%s", res.stdout, tt.wantOut)
			}
			for _, s := range tt.outHas {
				if !strings.Contains(res.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, res.stdout)
				}
			}
			switch {
			case tt.wantErr != "" && res.stderr != tt.wantErr:
				t.Errorf("stderr = %q, want %q", res.stderr, tt.wantErr)
			case tt.wantCode == ExitOK && res.stderr != "":
				t.Errorf("stderr = %q, want nothing", res.stderr)
			case tt.wantCode != ExitOK && (!strings.HasPrefix(res.stderr, "Error: ") || strings.Count(res.stderr, "\n") != 1):
				t.Errorf("stderr = %q, want one line starting with Error:", res.stderr)
			}
			reqs := f.requests()
			if got := requestLines(reqs); !reflect.DeepEqual(got, append([]string{}, tt.wantReqs...)) {
				t.Errorf("requests = %q, want %q", got, tt.wantReqs)
			}
			if tt.wantBody != "" {
				last := reqs[len(reqs)-1]
				if got := strings.TrimSpace(last.Body); got != tt.wantBody {
					t.Errorf("body = %s, want %s", got, tt.wantBody)
				}
				if last.IdempotencyKey == "" {
					t.Errorf("write sent without an Idempotency-Key")
				}
			}
		})
	}
}

func TestJSONOutput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		into func() any // a fresh value to decode stdout into
		want any
	}{
		{"app list", []string{"app", "list"}, func() any { return &[]api.App{} }, &fakeApps},
		{"app get", []string{"app", "get", "api"}, func() any { return &api.App{} }, &fakeApps[0]},
		{"token list", []string{"token", "list"}, func() any { return &[]api.Token{} }, &fakeTokens},
		{"raft list-peers", []string{"operator", "raft", "list-peers"}, func() any { return &api.RaftConfiguration{} }, &fakeRaft},
		{"acl bootstrap", []string{"acl", "bootstrap"}, func() any { return &api.Token{} },
			&api.Token{AccessorID: "acc-1", SecretID: "boot-secret", Name: "bootstrap", Type: api.TokenTypeManagement, CreateTime: t0}},
		{"status leader", []string{"status", "leader"}, func() any { return &api.Leader{} },
			&api.Leader{ID: "node-1", RaftAddr: "10.0.0.1:4647", HTTPAddr: "http://10.0.0.1:7400"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAPI(t)
			res := runAgainst(t, f, append(tt.args, "--output", "json")...)
			if res.code != ExitOK {
				t.Fatalf("exit %d: %s", res.code, res.stderr)
			}
			if !strings.HasPrefix(res.stdout, "{\n  ") && !strings.HasPrefix(res.stdout, "[\n  ") {
				t.Errorf("output is not indented JSON:\n%s", res.stdout)
			}
			got := tt.into()
			dec := json.NewDecoder(strings.NewReader(res.stdout))
			dec.DisallowUnknownFields()
			if err := dec.Decode(got); err != nil {
				t.Fatalf("decode %s: %v", res.stdout, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}

	t.Run("delete prints nothing", func(t *testing.T) {
		t.Parallel()
		f := newFakeAPI(t)
		res := runAgainst(t, f, "--output", "json", "app", "delete", "web")
		if res.code != ExitOK || res.stdout != "" {
			t.Errorf("exit %d, stdout %q; want 0 and nothing", res.code, res.stdout)
		}
	})
}

func TestSettingsFromEnvironment(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	env := map[string]string{EnvAddr: f.srv.URL, EnvToken: testToken, EnvOutput: "json"}

	res := runWith(t, context.Background(), env, "app", "get", "web")
	if res.code != ExitOK || !strings.HasPrefix(res.stdout, "{") {
		t.Fatalf("env settings not used: exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
	}

	// Flags win over the environment.
	res = runWith(t, context.Background(), env, "app", "get", "web", "--output", "table", "--token", "wrong")
	if res.code != ExitFailure || !strings.Contains(res.stderr, "the token was not accepted") {
		t.Errorf("flags did not win: exit %d, stderr %q", res.code, res.stderr)
	}

	res = runWith(t, context.Background(), map[string]string{EnvAddr: f.srv.URL, EnvOutput: "xml"}, "app", "list")
	if res.code != ExitUsage || !strings.Contains(res.stderr, `invalid SLIPWAY_OUTPUT "xml"`) {
		t.Errorf("bad SLIPWAY_OUTPUT: exit %d, stderr %q", res.code, res.stderr)
	}

	res = runWith(t, context.Background(), nil, "--addr", "ftp://x", "app", "list")
	if res.code != ExitUsage || !strings.Contains(res.stderr, "--addr: invalid address") {
		t.Errorf("bad --addr: exit %d, stderr %q", res.code, res.stderr)
	}
}

func TestUnauthorizedHints(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	res := runWith(t, context.Background(), nil, "--addr", f.srv.URL, "app", "list")
	want := "Error: missing or unknown token: no token given; set SLIPWAY_TOKEN or pass --token"
	if res.code != ExitFailure || !strings.HasPrefix(res.stderr, want) {
		t.Errorf("no token: exit %d, stderr %q", res.code, res.stderr)
	}
	res = runWith(t, context.Background(), map[string]string{EnvToken: "revoked"}, "--addr", f.srv.URL, "app", "list")
	if res.code != ExitFailure || !strings.Contains(res.stderr, "the token was not accepted") {
		t.Errorf("bad token: exit %d, stderr %q", res.code, res.stderr)
	}
	// acl bootstrap needs no token.
	res = runWith(t, context.Background(), nil, "--addr", f.srv.URL, "acl", "bootstrap")
	if res.code != ExitOK {
		t.Errorf("bootstrap without token: exit %d, stderr %q", res.code, res.stderr)
	}
}

func TestUnreachableServer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(nil)
	addr := srv.URL
	srv.Close() // nothing listens there now

	res := runWith(t, context.Background(), nil, "--addr", addr, "--token", testToken, "app", "create", "web")
	if res.code != ExitFailure {
		t.Fatalf("exit %d, want %d; stderr %q", res.code, ExitFailure, res.stderr)
	}
	if !strings.HasPrefix(res.stderr, "Error: cannot reach slipway at ") || !strings.Contains(res.stderr, "SLIPWAY_ADDR") ||
		strings.Count(res.stderr, "\n") != 1 {
		t.Errorf("stderr = %q", res.stderr)
	}
}

func TestInterrupted(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := runWith(t, ctx, nil, "--addr", f.srv.URL, "--token", testToken, "app", "list")
	if res.code != ExitInterrupted || res.stderr != "Error: interrupted\n" {
		t.Errorf("exit %d, stderr %q", res.code, res.stderr)
	}
}

func TestSnapshotSave(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "backup.snap")

	res := runAgainst(t, f, "operator", "snapshot", "save", path)
	if res.code != ExitOK {
		t.Fatalf("save: exit %d, stderr %q", res.code, res.stderr)
	}
	if want := fmt.Sprintf("Saved snapshot to %s (%d bytes)\n", path, len(fakeSnapshot)); res.stdout != want {
		t.Errorf("stdout = %q, want %q", res.stdout, want)
	}
	assertFile(t, path, fakeSnapshot)
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}

	// An existing file is refused before anything is downloaded.
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := len(f.requests())
	res = runAgainst(t, f, "operator", "snapshot", "save", path)
	if res.code != ExitFailure || !strings.Contains(res.stderr, "already exists (use --force to overwrite)") {
		t.Errorf("overwrite without --force: exit %d, stderr %q", res.code, res.stderr)
	}
	if len(f.requests()) != before {
		t.Errorf("a request was sent although the file exists")
	}
	assertFile(t, path, "old")

	res = runAgainst(t, f, "operator", "snapshot", "save", path, "--force", "--output", "json")
	if res.code != ExitOK {
		t.Fatalf("save --force: exit %d, stderr %q", res.code, res.stderr)
	}
	var got snapshotResult
	if err := json.Unmarshal([]byte(res.stdout), &got); err != nil || got != (snapshotResult{File: path, Bytes: int64(len(fakeSnapshot))}) {
		t.Errorf("json = %q (%v)", res.stdout, err)
	}
	assertFile(t, path, fakeSnapshot)
	for _, r := range f.requests() {
		if r.String() != "GET /v1/operator/snapshot" {
			t.Errorf("unexpected request %s", r)
		}
	}
}

func TestSnapshotSaveFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	path := filepath.Join(t.TempDir(), "backup.snap")
	res := runWith(t, context.Background(), nil, "--addr", f.srv.URL, "--token", "wrong", "operator", "snapshot", "save", path)
	if res.code != ExitFailure {
		t.Fatalf("exit %d, want 1", res.code)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 0 {
		t.Errorf("files left behind after a failed save: %v", entries)
	}
}

func TestSnapshotRestore(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	path := filepath.Join(t.TempDir(), "backup.snap")
	if err := os.WriteFile(path, []byte(fakeSnapshot), 0o600); err != nil {
		t.Fatal(err)
	}
	res := runAgainst(t, f, "operator", "snapshot", "restore", path)
	if res.code != ExitOK {
		t.Fatalf("restore: exit %d, stderr %q", res.code, res.stderr)
	}
	reqs := f.requests()
	if len(reqs) != 1 || reqs[0].String() != "PUT /v1/operator/snapshot" || reqs[0].Body != fakeSnapshot ||
		reqs[0].ContentType != "application/octet-stream" {
		t.Errorf("requests = %+v", reqs)
	}

	res = runAgainst(t, f, "operator", "snapshot", "restore", filepath.Join(t.TempDir(), "missing.snap"))
	if res.code != ExitFailure || !strings.Contains(res.stderr, "no such file") {
		t.Errorf("missing file: exit %d, stderr %q", res.code, res.stderr)
	}
	if len(f.requests()) != 1 {
		t.Errorf("a request was sent for a missing file")
	}
}

func assertFile(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s = %q, want %q", path, got, want)
	}
}

func TestVersion(t *testing.T) {
	// Not parallel: exercises Execute, which reads the process environment.
	t.Setenv(EnvOutput, "json")
	var out, errb bytes.Buffer
	if code := Execute(context.Background(), []string{"version"}, &out, &errb); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var v versionInfo
	if err := json.Unmarshal(out.Bytes(), &v); err != nil || v.Version == "" || v.Commit == "" {
		t.Errorf("version json = %q (%v)", out.String(), err)
	}

	res := runWith(t, context.Background(), nil, "version")
	if res.code != ExitOK || !strings.HasPrefix(res.stdout, "slipway "+v.Version+" (commit ") {
		t.Errorf("version = %q", res.stdout)
	}
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		res := runWith(t, context.Background(), nil, "completion", shell)
		if res.code != ExitOK || !strings.Contains(res.stdout, "slipway") {
			t.Errorf("completion %s: exit %d, %d bytes, stderr %q", shell, res.code, len(res.stdout), res.stderr)
		}
	}

	f := newFakeAPI(t)
	res := runAgainst(t, f, cobra.ShellCompRequestCmd, "app", "get", "")
	if res.code != ExitOK || !strings.Contains(res.stdout, "api\tPublic API\n") || !strings.Contains(res.stdout, "web\t") {
		t.Errorf("app name completion: exit %d, stdout %q", res.code, res.stdout)
	}
	res = runAgainst(t, f, cobra.ShellCompRequestCmd, "token", "create", "--type", "")
	if !strings.Contains(res.stdout, "client\nmanagement\n") {
		t.Errorf("--type completion: %q", res.stdout)
	}
}

// TestEveryCommandHasExample walks the whole tree, so a command added later without an example
// fails here.
func TestEveryCommandHasExample(t *testing.T) {
	t.Parallel()
	root := NewRootCommand(Options{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		if cmd.Name() != cobra.ShellCompRequestCmd && cmd.Name() != cobra.ShellCompNoDescRequestCmd && strings.TrimSpace(cmd.Example) == "" {
			t.Errorf("%q has no Example", cmd.CommandPath())
		}
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func TestAllPagesStopsOnRepeatedToken(t *testing.T) {
	t.Parallel()
	calls := 0
	_, err := allPages(context.Background(), func(string) ([]int, string, error) {
		calls++
		return []int{calls}, "same", nil
	})
	if err == nil || calls != 2 {
		t.Errorf("err = %v after %d calls; want an error after 2", err, calls)
	}
}

func TestExplain(t *testing.T) {
	t.Parallel()
	c := &cli{root: &cobra.Command{}, getenv: func(string) string { return "" }}
	c.root.PersistentFlags().String("token", "", "")
	tests := []struct {
		err  error
		want string
	}{
		{&api.Error{Status: 403, Code: api.CodeForbidden, Message: "permission denied"}, "permission denied: no policy of this token's principal allows it; ask an administrator (`slipway iam simulate` shows which statement decides)"},
		{&api.Error{Status: 503, Code: api.CodeNoLeader, Message: "no leader"}, "no leader: the cluster has no leader"},
		{&api.Error{Status: 504, Code: api.CodeTimeout, Message: "timed out"}, "timed out: the change may or may not have been applied"},
		{&api.Error{Status: 404, Code: api.CodeNotFound, Message: "app \"x\" not found"}, "app \"x\" not found"},
	}
	for _, tt := range tests {
		if got := c.explain(tt.err); !strings.HasPrefix(got, tt.want) {
			t.Errorf("explain(%v) = %q, want prefix %q", tt.err, got, tt.want)
		}
	}
}
