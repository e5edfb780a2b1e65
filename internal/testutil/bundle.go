package testutil

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/slipwayhq/slipway/pkg/bundle"
)

// RandomBundle bundles a folder holding an appspec (copying everything to /opt/app) and size
// random bytes with pkg/bundle, as `slipway revision push` does, and returns the tar.gz and its
// sha256.
func RandomBundle(t testing.TB, size int64) ([]byte, string) {
	t.Helper()
	dir := t.TempDir()
	spec := "version: 0.0\nos: linux\nfiles:\n  - source: /\n    destination: /opt/app\n"
	if err := os.WriteFile(filepath.Join(dir, "appspec.yml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, size)
	_, _ = rand.Read(data)
	if err := os.WriteFile(filepath.Join(dir, "payload.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	info, err := bundle.Create(&buf, dir)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), info.SHA256
}
