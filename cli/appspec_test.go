package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeBundle(t *testing.T, spec string, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "appspec.yml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const validSpec = `version: 0.0
os: linux
files:
  - source: /
    destination: /opt/app
hooks:
  BeforeInstall:
    - location: scripts/setup.sh
`

func TestAppSpecValidate(t *testing.T) {
	ctx := context.Background()
	good := writeBundle(t, validSpec, "scripts/setup.sh")
	r := runWith(t, ctx, nil, "appspec", "validate", good)
	if r.code != ExitOK || !strings.Contains(r.stdout, "is valid") {
		t.Fatalf("valid bundle: %+v", r)
	}

	missing := writeBundle(t, validSpec)
	r = runWith(t, ctx, nil, "appspec", "validate", missing)
	if r.code != ExitFailure || !strings.Contains(r.stdout, "appspec.yml:8:") || !strings.Contains(r.stdout, "scripts/setup.sh") {
		t.Fatalf("missing script: %+v", r)
	}

	typo := writeBundle(t, strings.Replace(validSpec, "BeforeInstall", "BeforeInstal", 1), "scripts/setup.sh")
	r = runWith(t, ctx, nil, "appspec", "validate", filepath.Join(typo, "appspec.yml"), "--output", "json")
	var rep appSpecReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("json output %q: %v", r.stdout, err)
	}
	if r.code != ExitFailure || rep.Valid || len(rep.Diagnostics) == 0 || !strings.Contains(rep.Diagnostics[0].Message, `did you mean "BeforeInstall"`) {
		t.Fatalf("typo: code %d report %+v", r.code, rep)
	}

	r = runWith(t, ctx, nil, "appspec", "validate", t.TempDir())
	if r.code != ExitFailure || !strings.Contains(r.stderr, "looked for") {
		t.Fatalf("no spec: %+v", r)
	}
}
