package server_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/state"
)

func tarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipOf(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	if _, err := gz.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func randomBytes(t *testing.T, n int, prefix string) []byte {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return append([]byte(prefix), b...)
}

// TestUploadsThatAreNoDeployableBundleAreRefused: the server refuses with 400 and a message
// an upload that is no readable tar, tar.gz or zip with a valid appspec at its root, and stores
// nothing for it: no revision, no blob record, no file under blobs/.
func TestUploadsThatAreNoDeployableBundleAreRefused(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	cl := c.Client(0)
	if _, err := cl.AppCreate(ctx, api.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	spec := "version: 0.0\nos: linux\n"
	good := tarOf(t, map[string]string{"appspec.yml": spec, "app/index.html": strings.Repeat("hello ", 2000)})
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"random bytes", randomBytes(t, 1<<20, ""), "not a tar, tar.gz or zip archive"},
		{"random bytes after gzip magic", randomBytes(t, 1<<20, "\x1f\x8b"), "not a readable archive"},
		{"random bytes after zip magic", randomBytes(t, 1<<20, "PK\x03\x04"), "not a readable archive"},
		{"random bytes after a tar header", append(good[:512:512], randomBytes(t, 64<<10, "")...), "not a readable archive"},
		{"a tar.gz cut short", gzipOf(t, good)[:len(gzipOf(t, good))/2], "not a readable archive"},
		{"no appspec", gzipOf(t, tarOf(t, map[string]string{"app/index.html": "x"})), "no appspec.yml at its root"},
		{"appspec two folders down", zipOf(t, map[string]string{"a/b/appspec.yml": spec}), "no appspec.yml at its root"},
		{"invalid appspec", gzipOf(t, tarOf(t, map[string]string{"appspec.yml": "version: 9.9\nos: linux\n"})), "appspec.yml:1:10"},
		{"an entry agents refuse", tarOf(t, map[string]string{"appspec.yml": spec, "../x": "x"}), "agents would refuse this bundle"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := push(t, cl, "web", tc.data)
			t.Logf("refusal: %v", err)
			if api.ErrorCode(err) != api.CodeBadRequest || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("push: %v; want bad_request saying %q", err, tc.want)
			}
		})
	}
	l, err := cl.RevisionList(ctx, "web", nil)
	if err != nil || len(l.Revisions) != 0 {
		t.Fatalf("revisions after refused uploads: %+v %v", l, err)
	}
	var blobs []state.Blob
	if err := c.Server(0).Node().State().View(func(tx *state.Tx) error {
		var err error
		blobs, _, err = tx.Blobs().List("", 10)
		return err
	}); err != nil || len(blobs) != 0 {
		t.Fatalf("blob records after refused uploads: %+v %v", blobs, err)
	}
	if left := tmpFiles(t, c, 0); len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	if entries, _ := os.ReadDir(filepath.Join(c.Config(0).DataDir, "blobs", "sha256")); len(entries) != 0 {
		t.Fatalf("refused uploads left blob folders: %d", len(entries))
	}
	// What the agent accepts is accepted: the spec at the root, or inside the only folder.
	for _, ok := range [][]byte{gzipOf(t, good), zipOf(t, map[string]string{"rel/appspec.yaml": spec, "rel/app/x": "x"})} {
		if _, _, err := push(t, cl, "web", ok); err != nil {
			t.Fatalf("a deployable bundle was refused: %v", err)
		}
	}
}
