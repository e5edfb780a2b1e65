package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeBuildFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBuildSpecValidate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	good := writeBuildFile(t, dir, "buildspec.yml", "version: 0.2\nphases:\n  build:\n    commands:\n      - make\n")
	r := runWith(t, ctx, nil, "buildspec", "validate", good)
	if r.code != ExitOK || !strings.Contains(r.stdout, "is valid") {
		t.Fatalf("valid: %+v", r)
	}

	warn := writeBuildFile(t, dir, "warn.yml", "version: 0.2\nphase: {}\nphases:\n  build:\n    commands: [make]\n")
	r = runWith(t, ctx, nil, "buildspec", "validate", warn)
	if r.code != ExitOK || !strings.Contains(r.stdout, `warn.yml:2:1: warning: unknown key "phase" in the buildspec is ignored; did you mean "phases"?`) {
		t.Fatalf("warning: %+v", r)
	}

	bad := writeBuildFile(t, dir, "bad.yml", "version: 0.2\nphases:\n  prebuild:\n    commands: [make]\n")
	r = runWith(t, ctx, nil, "buildspec", "validate", bad)
	if r.code != ExitFailure || !strings.Contains(r.stdout, "bad.yml:3:3: unknown phase \"prebuild\"") || !strings.Contains(r.stderr, "1 error(s)") {
		t.Fatalf("invalid: %+v", r)
	}

	r = runWith(t, ctx, nil, "buildspec", "validate", bad, "--output", "json")
	var rep buildSpecReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("json output %q: %v", r.stdout, err)
	}
	if r.code != ExitFailure || rep.Valid || len(rep.Diagnostics) != 1 || rep.Diagnostics[0].Line != 3 || rep.Diagnostics[0].Field != "phases.prebuild" {
		t.Fatalf("json: code %d report %+v", r.code, rep)
	}

	r = runWith(t, ctx, nil, "buildspec", "validate", good, "--output", "json")
	if r.code != ExitOK || !strings.Contains(r.stdout, `"diagnostics": []`) {
		t.Fatalf("json valid: %+v", r)
	}

	if r = runWith(t, ctx, nil, "buildspec", "validate"); r.code != ExitUsage {
		t.Fatalf("no file: %+v", r)
	}
	if r = runWith(t, ctx, nil, "buildspec", "validate", dir); r.code != ExitFailure || !strings.Contains(r.stderr, "is not a file") {
		t.Fatalf("a directory: %+v", r)
	}
	if r = runWith(t, ctx, nil, "buildspec", "validate", filepath.Join(dir, "missing.yml")); r.code != ExitFailure || !strings.Contains(r.stderr, "cannot read") {
		t.Fatalf("missing: %+v", r)
	}
}
