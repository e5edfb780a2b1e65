package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
)

// TestPREvaluateCodeOwners: `slipway pr evaluate` shows the CODEOWNERS rules of a pull
// request, the paths each covers, and the file read with its bad line's number; json has them
// under code_owners.
func TestPREvaluateCodeOwners(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	c := testutil.NewCluster(t, 1)
	cli := func(args ...string) result {
		return runWith(t, context.Background(), nil, append([]string{"--addr", c.URL(0), "--token", testutil.ManagementToken}, args...)...)
	}
	if r := cli("repo", "create", "web"); r.code != 0 {
		t.Fatalf("repo create: %+v", r)
	}
	local := filepath.Join(t.TempDir(), "f")
	putFile := func(branch, path, content string) {
		t.Helper()
		if err := os.WriteFile(local, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if r := cli("repo", "put-file", "web", "--branch", branch, "--path", path, "--file", local, "--message", "put "+path); r.code != 0 {
			t.Fatalf("put-file %s %s: %+v", branch, path, r)
		}
	}
	putFile("main", ".github/CODEOWNERS", "*.go @bob\n!*.md @docs\n")
	putFile("topic", "main.go", "package main\n")
	if r := cli("pr", "create", "--repo", "web", "--source", "topic", "--destination", "main", "--title", "Go"); r.code != 0 {
		t.Fatalf("pr create: %+v", r)
	}
	r := cli("pr", "evaluate", "1")
	for _, want := range []string{"CODEOWNERS: @bob", "Approved: false", "CODEOWNERS: .github/CODEOWNERS at ", "  line 2: pattern \"!*.md\": negation", "CODEOWNERS: @bob covers main.go"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Fatalf("pr evaluate: %+v; want it to say %q", r, want)
		}
	}
	r = cli("pr", "evaluate", "1", "--output", "json")
	var e struct {
		Rules []struct {
			Origin string   `json:"origin"`
			Paths  []string `json:"paths"`
		} `json:"rules"`
		CodeOwners struct {
			Path        string `json:"path"`
			Diagnostics []struct {
				Line int    `json:"line"`
				Kind string `json:"kind"`
			} `json:"diagnostics"`
		} `json:"code_owners"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &e) != nil || len(e.Rules) != 1 || e.Rules[0].Origin != "codeowners" ||
		e.CodeOwners.Path != ".github/CODEOWNERS" || len(e.CodeOwners.Diagnostics) != 1 || e.CodeOwners.Diagnostics[0].Line != 2 || e.CodeOwners.Diagnostics[0].Kind != "negation" {
		t.Fatalf("pr evaluate --output json: %+v (%+v)", r, e)
	}
}
