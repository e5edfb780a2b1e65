//go:build unix

package lifecycle

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/pkg/bundle"
)

// zipBomb returns a zip of about 1 MB holding appspec.yml and 1,024 entries that each inflate
// to 1 MiB of zeros: 1 GiB in all. The deflate stream of an entry is one compressed MiB of
// zeros, so the test never compresses a GiB.
func zipBomb(t *testing.T, spec string) []byte {
	t.Helper()
	const chunk = 1 << 20
	var block bytes.Buffer
	fw, err := flate.NewWriter(&block, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, chunk)
	if _, err := fw.Write(zeros); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil { // one final block: a complete stream for 1 MiB
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("appspec.yml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(spec)); err != nil {
		t.Fatal(err)
	}
	for i := range 1024 {
		h := &zip.FileHeader{Name: fmt.Sprintf("app/zeros-%04d", i), Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(zeros),
			CompressedSize64: uint64(block.Len()), UncompressedSize64: chunk}
		h.SetMode(0o644)
		rw, err := zw.CreateRaw(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rw.Write(block.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestZipBombIsRefusedAndNothingKept: a 1 MB zip that expands 1,000 times is refused under the
// agent's default expansion limit, the failure names the sizes and the setting to raise, and
// the deployment root holds no unpacked byte afterwards.
func TestZipBombIsRefusedAndNothingKept(t *testing.T) {
	e := newEnv(t, Config{BundleLimits: bundle.Limits{MaxExpansion: 100}})
	data := zipBomb(t, specYAML(e.dest, nil))
	if len(data) > 2<<20 {
		t.Fatalf("the bomb is %d bytes; the test wants about 1 MB", len(data))
	}
	sum := sha256.Sum256(data)
	rev := agentproto.Revision{ID: "bomb", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), Format: "zip"}
	e.fetcher.add(rev, data)
	if st := e.run(context.Background(), "d1", "g1", rev); st != agentproto.StatusFailed {
		t.Fatalf("status = %s, want failed", st)
	}
	ev, _ := e.rec.eventResult("d1", "DownloadBundle")
	for _, part := range []string{"nothing kept", "100 times", fmt.Sprintf("from a %d byte archive", len(data)), "bundle_max_expansion (flag --bundle-max-expansion, env SLIPWAY_AGENT_BUNDLE_MAX_EXPANSION)"} {
		if !strings.Contains(ev.Message, part) {
			t.Errorf("DownloadBundle message %q lacks %q", ev.Message, part)
		}
	}
	var total int64
	var left []string
	err := filepath.WalkDir(e.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(e.root, p)
		if strings.Contains(rel, archiveName) || strings.HasSuffix(rel, string(filepath.Separator)+bundleName) {
			left = append(left, rel)
		}
		if fi, err := d.Info(); err == nil && fi.Mode().IsRegular() {
			total += fi.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 || total > 64<<10 {
		t.Fatalf("the refused bundle left %v and %d bytes under the deployment root", left, total)
	}
	if exists(e.dest) {
		t.Fatalf("the refused bundle installed %s", e.dest)
	}
}

// setuidBundle packs appspec.yml (spec) and app/tool with mode 04755.
func setuidBundle(t *testing.T, spec string) ([]byte, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "appspec.yml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	tool := filepath.Join(dir, "app", "tool")
	if err := os.WriteFile(tool, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tool, 0o755|fs.ModeSetuid|fs.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(tool); fi.Mode()&fs.ModeSetuid == 0 {
		t.Skip("this file system does not keep setuid bits")
	}
	var buf bytes.Buffer
	info, err := bundle.Create(&buf, dir)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), info.SHA256
}

// TestSetuidComesOnlyFromTheAppSpec: a bundle's setuid and setgid bits are not installed; an
// AppSpec permissions mode of 4755 is.
func TestSetuidComesOnlyFromTheAppSpec(t *testing.T) {
	for _, tc := range []struct {
		name  string
		perms string
		want  fs.FileMode
	}{
		{"from the bundle", "", 0o755},
		{"from the appspec", "permissions:\n  - object: DEST/tool\n    mode: \"4755\"\n", 0o755 | fs.ModeSetuid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{})
			data, sha := setuidBundle(t, specYAML(e.dest, nil)+strings.ReplaceAll(tc.perms, "DEST", e.dest))
			rev := agentproto.Revision{ID: "r1", SHA256: sha, Size: int64(len(data)), Format: "tar.gz"}
			e.fetcher.add(rev, data)
			if st := e.run(context.Background(), "d1", "g1", rev); st != agentproto.StatusSucceeded {
				t.Fatalf("status = %s: %+v", st, e.rec.end(t, "d1"))
			}
			fi, err := os.Stat(filepath.Join(e.dest, "tool"))
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky); got != tc.want {
				t.Fatalf("installed tool mode %v, want %v", got, tc.want)
			}
		})
	}
}
