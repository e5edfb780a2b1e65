package server_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server"
	"github.com/slipwayhq/slipway/server/core/config"
	"github.com/slipwayhq/slipway/server/core/keyring"
)

// markedBundle returns an uncompressed tar bundle whose payload repeats a random marker string,
// so the marker appears literally in the bundle's bytes.
func markedBundle(t *testing.T, size int) ([]byte, []byte) {
	t.Helper()
	r := make([]byte, 8)
	_, _ = rand.Read(r)
	marker := []byte("SLIPWAY-MARKER-" + hex.EncodeToString(r))
	payload := bytes.Repeat(append(bytes.Clone(marker), '\n'), size/(len(marker)+1)+1)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		body []byte
	}{{"appspec.yml", []byte("version: 0.0\nos: linux\n")}, {"payload.txt", payload}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), marker) {
		t.Fatal("the bundle does not hold its marker")
	}
	return buf.Bytes(), marker
}

// grepDataDirs returns the files under any server's data dir that contain any of needles.
func grepDataDirs(t *testing.T, c *testutil.Cluster, needles ...[]byte) []string {
	t.Helper()
	var hits []string
	for i := 0; i < c.Len(); i++ {
		err := filepath.WalkDir(c.Config(i).DataDir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil //nolint:nilerr // removed while walking
			}
			for _, n := range needles {
				if bytes.Contains(b, n) {
					hits = append(hits, p)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return hits
}

// fileKeyID reads the data key id from a blob file's header ("" if it has none).
func fileKeyID(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 6 || string(b[:4]) != "SLWB" || len(b) < 6+int(b[5]) {
		return ""
	}
	return string(b[6 : 6+int(b[5])])
}

func keyForms(key []byte) [][]byte {
	return [][]byte{key, []byte(base64.StdEncoding.EncodeToString(key)), []byte(base64.RawURLEncoding.EncodeToString(key)), []byte(hex.EncodeToString(key))}
}

// TestBundleBytesAreNotOnDisk: a revision's bytes cannot be found in any file under any server's
// data dir (blobs, Raft log, snapshots, state), nor can the plaintext of the data key; downloads
// and Range reads still return the original bytes from every server; a wiped server catches up
// with its own encrypted files; a Raft snapshot carries only the wrapped key.
func TestBundleBytesAreNotOnDisk(t *testing.T) {
	c := testutil.NewCluster(t, 3, testutil.Options{Tweak: fastBlobs})
	ctx := context.Background()
	cl := c.Client(0)
	if _, err := cl.AppCreate(ctx, api.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	b, marker := markedBundle(t, 300<<10)
	rev, _, err := push(t, cl, "web", b)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, func() error {
		for i := 0; i < 3; i++ {
			if _, err := os.Stat(blobFile(c, i, rev.SHA256)); err != nil {
				return fmt.Errorf("node %d lacks the blob", i)
			}
		}
		return nil
	})
	keyID := c.Server(0).Keyring().ActiveID()
	key, err := c.Server(0).Keyring().Key(keyID)
	if err != nil {
		t.Fatal(err)
	}
	needles := append([][]byte{marker}, keyForms(key)...)
	if hits := grepDataDirs(t, c, needles...); len(hits) > 0 {
		t.Fatalf("the bundle's marker or the data key's plaintext is on disk in %v", hits)
	}
	for i := 0; i < 3; i++ {
		got, err := download(t, c.Client(i), rev.ID, 0)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("download from node %d: %d bytes, %v", i, len(got), err)
		}
		got, err = download(t, c.Client(i), rev.ID, int64(len(b)/2+3))
		if err != nil || !bytes.Equal(got, b[len(b)/2+3:]) {
			t.Fatalf("resumed download from node %d: %d bytes, %v", i, len(got), err)
		}
		if id := fileKeyID(t, blobFile(c, i, rev.SHA256)); id != keyID {
			t.Fatalf("node %d's file is under key %q, want %q", i, id, keyID)
		}
	}
	status, _, body := getRange(t, c.URL(1), rev.ID, "bytes=70000-140000")
	if status != http.StatusPartialContent || !bytes.Equal(body, b[70000:140001]) {
		t.Fatalf("range across chunks: %d, %d bytes", status, len(body))
	}

	// A snapshot (what Raft snapshots and backups hold) carries the wrapped key only.
	var snap bytes.Buffer
	if err := cl.SnapshotSave(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&snap)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte(keyID)) {
		t.Fatal("the snapshot does not hold the keyring")
	}
	for _, n := range needles {
		if bytes.Contains(raw, n) {
			t.Fatal("the snapshot holds the data key's plaintext or the bundle's bytes")
		}
	}

	// A wiped server fetches the blob again (a repair fetch) into its own encrypted file.
	victim := c.Follower()
	c.Stop(victim)
	c.Wipe(victim)
	c.Start(victim)
	c.WaitLeader()
	testutil.Eventually(t, 30*time.Second, func() error {
		if _, err := os.Stat(blobFile(c, victim, rev.SHA256)); err != nil {
			return fmt.Errorf("wiped node still lacks the blob")
		}
		return nil
	})
	if id := fileKeyID(t, blobFile(c, victim, rev.SHA256)); id != keyID {
		t.Fatalf("the wiped node's file is under key %q, want %q", id, keyID)
	}
	got, err := download(t, c.Client(victim), rev.ID, 0)
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("download from the wiped node: %d bytes, %v", len(got), err)
	}
	if hits := grepDataDirs(t, c, needles...); len(hits) > 0 {
		t.Fatalf("after catch-up, the marker or the key is on disk in %v", hits)
	}
}

// TestKeyRotationRewritesOldBlobs: after a rotation, new uploads use the new key, old revisions
// stay downloadable throughout, every server's background job re-encrypts the old blob under
// the new key, the old key is kept, and a restarted server keeps reading both.
func TestKeyRotationRewritesOldBlobs(t *testing.T) {
	c := testutil.NewCluster(t, 3, testutil.Options{Tweak: fastBlobs})
	ctx := context.Background()
	cl := c.Client(0)
	if _, err := cl.AppCreate(ctx, api.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	old, _ := markedBundle(t, 200<<10)
	oldRev, _, err := push(t, cl, "web", old)
	if err != nil {
		t.Fatal(err)
	}
	first := c.Server(0).Keyring().ActiveID()
	k, err := c.Client(1).KeyringRotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !k.Active || k.ID == first {
		t.Fatalf("rotate returned %+v", k)
	}
	testutil.Eventually(t, 10*time.Second, func() error {
		for i := 0; i < 3; i++ {
			if id := c.Server(i).Keyring().ActiveID(); id != k.ID {
				return fmt.Errorf("node %d's active key is %q", i, id)
			}
		}
		return nil
	})
	newer, _ := markedBundle(t, 100<<10)
	newRev, _, err := push(t, cl, "web", newer)
	if err != nil {
		t.Fatal(err)
	}
	if id := fileKeyID(t, blobFile(c, 0, newRev.SHA256)); id != k.ID {
		t.Fatalf("a new upload is under key %q, want the new key %q", id, k.ID)
	}
	for i := 0; i < 3; i++ {
		if got, err := download(t, c.Client(i), oldRev.ID, 0); err != nil || !bytes.Equal(got, old) {
			t.Fatalf("old revision from node %d after rotation: %v", i, err)
		}
	}
	testutil.Eventually(t, 30*time.Second, func() error {
		for i := 0; i < 3; i++ {
			if id := fileKeyID(t, blobFile(c, i, oldRev.SHA256)); id != k.ID {
				return fmt.Errorf("node %d's old blob is still under key %q", i, id)
			}
		}
		return nil
	})
	var list *api.Keyring
	testutil.Eventually(t, 30*time.Second, func() error {
		list, err = cl.KeyringGet(ctx)
		if err != nil {
			return err
		}
		if len(list.Keys) != 2 || list.Keys[0].ID != first || list.Keys[0].Active || !list.Keys[1].Active ||
			list.Keys[0].LocalBlobs != 0 || list.Keys[1].LocalBlobs != 2 {
			return fmt.Errorf("keyring is %+v", list.Keys)
		}
		return nil
	})
	raw, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("wrapped")) {
		t.Fatal("the keyring listing carries key material")
	}
	// A restarted server keeps reading.
	c.Stop(2)
	c.Start(2)
	c.WaitLeader()
	for _, r := range []struct {
		id string
		b  []byte
	}{{oldRev.ID, old}, {newRev.ID, newer}} {
		if got, err := download(t, c.Client(2), r.id, 0); err != nil || !bytes.Equal(got, r.b) {
			t.Fatalf("after restart: %v", err)
		}
	}
}

// TestWrongKEKIsRefused: a server restarted with another KEK file, with none, or with one
// others can read refuses to start with a message naming the flag and what to do.
func TestWrongKEKIsRefused(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	c.Stop(0)
	cfg := *c.Config(0)
	dir := t.TempDir()

	other := filepath.Join(dir, "other.kek")
	if _, err := keyring.CreateKEKFile(other); err != nil {
		t.Fatal(err)
	}
	cfg.Keyring.KEKFile = other
	_, err := server.Start(cfg, testutil.Logger(t))
	if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "is not the one this server's data was written with") || !strings.Contains(err.Error(), "--keyring-kek-file") {
		t.Fatalf("another KEK: %v", err)
	}

	cfg.Keyring.KEKFile = ""
	_, err = server.Start(cfg, testutil.Logger(t))
	if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "--keyring-kek-file") || !strings.Contains(err.Error(), "slipway operator keyring kek create") {
		t.Fatalf("no KEK: %v", err)
	}

	loose := filepath.Join(dir, "loose.kek")
	b, _ := os.ReadFile(c.Config(0).Keyring.KEKFile)
	if err := os.WriteFile(loose, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Keyring.KEKFile = loose
	_, err = server.Start(cfg, testutil.Logger(t))
	if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("KEK readable by others: %v", err)
	}

	// The right file still works, and the data is readable.
	c.Start(0)
	c.WaitLeader()
}

// TestServerWithAnotherKEKServesNoBlobs: a fresh server joining with another KEK file than the
// cluster's cannot unwrap the keyring; it refuses blob reads with a message naming the fix
// instead of writing or serving garbage.
func TestServerWithAnotherKEKServesNoBlobs(t *testing.T) {
	c := testutil.NewCluster(t, 3, testutil.Options{Tweak: fastBlobs})
	ctx := context.Background()
	cl := c.Client(0)
	if _, err := cl.AppCreate(ctx, api.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	b, _ := markedBundle(t, 10<<10)
	rev, _, err := push(t, cl, "web", b)
	if err != nil {
		t.Fatal(err)
	}
	victim := c.Follower()
	c.Stop(victim)
	c.Wipe(victim)
	other := filepath.Join(t.TempDir(), "other.kek")
	if _, err := keyring.CreateKEKFile(other); err != nil {
		t.Fatal(err)
	}
	c.Config(victim).Keyring.KEKFile = other
	c.Start(victim)
	testutil.Eventually(t, 30*time.Second, func() error {
		_, err := download(t, c.Client(victim), rev.ID, 0)
		if err == nil {
			return errors.New("a server with another KEK served the blob")
		}
		if !strings.Contains(err.Error(), "restart it with the cluster's --keyring-kek-file") {
			return fmt.Errorf("not the KEK message yet: %w", err)
		}
		return nil
	})
	if _, err := os.Stat(blobFile(c, victim, rev.SHA256)); err == nil {
		t.Fatal("a server with another KEK stored the blob")
	}
	if _, err := c.Client(victim).KeyringRotate(ctx); err == nil || !strings.Contains(err.Error(), "--keyring-kek-file") {
		t.Fatalf("a server with another KEK rotated the keyring: %v", err)
	}
}

// TestOldRevisionDeploysAfterRotation: a revision pushed before a key rotation, whose blob the
// background job has since re-encrypted under the new key, deploys to an agent; so does a
// revision pushed after it.
func TestOldRevisionDeploysAfterRotation(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: fastAgents})
	testutil.StartAgent(t, c, "host-1")
	c.WaitHost("host-1")
	ctx := context.Background()
	cl := c.Client(0)
	if _, err := cl.AppCreate(ctx, api.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	record := filepath.Join(dir, "record")
	old, _, err := push(t, cl, "web", hookBundle(t, record, filepath.Join(dir, "installed"), nil))
	if err != nil {
		t.Fatal(err)
	}
	k, err := cl.KeyringRotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, func() error {
		if id := fileKeyID(t, blobFile(c, 0, old.SHA256)); id != k.ID {
			return fmt.Errorf("the old revision's blob is under key %q", id)
		}
		return nil
	})
	newer, _, err := push(t, cl, "web", hookBundle(t, record, filepath.Join(dir, "installed2"), nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, rev := range []*api.Revision{old, newer} {
		d, err := cl.DeploymentCreate(ctx, api.DeploymentCreateRequest{App: "web", Revision: rev.ID, Hosts: []string{"host-1"}})
		if err != nil {
			t.Fatal(err)
		}
		if d = waitDeployment(t, cl, d.ID); d.Status != api.DeploymentSucceeded {
			t.Fatalf("deployment of revision %s after rotation: %s %+v", rev.ID, d.Status, d.Targets)
		}
	}
}
