package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/server/core/keyring"
)

func TestKEKCreate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keys", "keyring.kek")
	res := runWith(t, context.Background(), nil, "operator", "keyring", "kek", "create", "--out", path, "--output", "json")
	if res.code != ExitOK {
		t.Fatalf("create: exit %d, stderr %q", res.code, res.stderr)
	}
	var got kekResult
	if err := json.Unmarshal([]byte(res.stdout), &got); err != nil || got.File != path || len(got.Fingerprint) != 16 {
		t.Fatalf("json = %q (%v)", res.stdout, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v %v", fi, err)
	}
	k, err := keyring.LoadKEKFile(path)
	if err != nil || k.Fingerprint() != got.Fingerprint {
		t.Fatalf("the file does not load as the printed KEK: %v", err)
	}
	before, _ := os.ReadFile(path)
	res = runWith(t, context.Background(), nil, "operator", "keyring", "kek", "create", "--out", path)
	if res.code != ExitFailure || !strings.Contains(res.stderr, "already exists") {
		t.Fatalf("overwrite: exit %d, stderr %q", res.code, res.stderr)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatal("an existing KEK file was changed")
	}
	res = runWith(t, context.Background(), nil, "operator", "keyring", "kek", "create")
	if res.code != ExitUsage || !strings.Contains(res.stderr, "--out") {
		t.Fatalf("no --out: exit %d, stderr %q", res.code, res.stderr)
	}
}
