package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/config"
)

// makeBundle returns a deterministic tar.gz bundle holding an appspec and size random bytes.
func makeBundle(t *testing.T, size int) []byte {
	t.Helper()
	data, _ := testutil.RandomBundle(t, int64(size))
	return data
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func push(t *testing.T, cl *api.Client, app string, b []byte) (*api.Revision, bool, error) {
	t.Helper()
	return cl.RevisionPush(context.Background(), app, bytes.NewReader(b), int64(len(b)), sum(b), "")
}

func download(t *testing.T, cl *api.Client, id string, offset int64) ([]byte, error) {
	t.Helper()
	d, err := cl.RevisionDownload(context.Background(), id, offset)
	if err != nil {
		return nil, err
	}
	defer func() { _ = d.Body.Close() }()
	return io.ReadAll(d.Body)
}

// getRange asks the API at base for the bytes rng (a Range header such as "bytes=10-19") of
// revision id's content, with the management token; it returns the answer's status, headers and
// body.
func getRange(t *testing.T, base, id, rng string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/v1/revisions/"+id+"/content", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testutil.ManagementToken)
	req.Header.Set("Range", rng)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatalf("range %s: reading the body: %v", rng, err)
	}
	return resp.StatusCode, resp.Header, body
}

func blobFile(c *testutil.Cluster, i int, sha string) string {
	return filepath.Join(c.Config(i).DataDir, "blobs", "sha256", sha[:2], sha)
}

func tmpFiles(t *testing.T, c *testutil.Cluster, i int) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(c.Config(i).DataDir, "blobs", "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func fastBlobs(_ int, cfg *config.Config) {
	cfg.Blobs.RepairInterval = 100 * time.Millisecond
}

func TestRevisionPushSurvivesLeaderLoss(t *testing.T) {
	c := testutil.NewCluster(t, 3, testutil.Options{Tweak: fastBlobs})
	ctx := context.Background()
	f := c.Follower()
	if _, err := c.Client(f).AppCreate(ctx, api.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	first := makeBundle(t, 3<<20)
	rev, created, err := push(t, c.Client(f), "web", first)
	if err != nil || !created {
		t.Fatalf("push: %v (created %v)", err, created)
	}
	// Acknowledged means a quorum holds it already, before any repair.
	holders := 0
	for i := 0; i < c.Len(); i++ {
		if _, err := os.Stat(blobFile(c, i, rev.SHA256)); err == nil {
			holders++
		}
	}
	if holders < 2 {
		t.Fatalf("acknowledged blob is on %d servers, want a quorum (2)", holders)
	}

	// Second upload: stream slowly through a pipe and kill the leader half-way.
	second := makeBundle(t, 8<<20)
	leader := c.WaitLeader()
	pushVia := f
	pr, pw := io.Pipe()
	type outcome struct {
		rev *api.Revision
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		r, _, err := c.Client(pushVia).RevisionPush(ctx, "web", pr, int64(len(second)), sum(second), "second")
		done <- outcome{r, err}
	}()
	half := len(second) / 2
	if _, err := pw.Write(second[:half]); err != nil {
		t.Fatal(err)
	}
	c.Kill(leader)
	go func() {
		_, _ = pw.Write(second[half:])
		_ = pw.Close()
	}()
	res := <-done
	t.Logf("second push after leader kill: err=%v", res.err)
	c.WaitLeader()

	for _, i := range c.Running() {
		got, err := download(t, c.Client(i), rev.ID, 0)
		if err != nil || !bytes.Equal(got, first) {
			t.Fatalf("node %d: first revision not byte-identical (%d bytes, %v)", i, len(got), err)
		}
	}
	list, err := c.Client(c.Running()[0]).RevisionList(ctx, "web", &api.QueryOptions{Consistent: true})
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case res.err == nil:
		for _, i := range c.Running() {
			got, err := download(t, c.Client(i), res.rev.ID, 0)
			if err != nil || !bytes.Equal(got, second) {
				t.Fatalf("node %d: acknowledged second revision not byte-identical (%v)", i, err)
			}
		}
	case len(list.Revisions) != 1:
		t.Fatalf("failed push left a revision behind: %+v", list.Revisions)
	}
}

func TestWipedNodeGetsEveryBlobBack(t *testing.T) {
	c := testutil.NewCluster(t, 3, testutil.Options{Tweak: fastBlobs})
	ctx := context.Background()
	cl := c.Client(0)
	if _, err := cl.AppCreate(ctx, api.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	var shas []string
	for i := 0; i < 3; i++ {
		rev, _, err := push(t, cl, "web", makeBundle(t, 256<<10))
		if err != nil {
			t.Fatal(err)
		}
		shas = append(shas, rev.SHA256)
	}
	victim := c.Follower()
	c.Stop(victim)
	c.Wipe(victim)
	c.Start(victim)
	c.WaitLeader()
	testutil.Eventually(t, 30*time.Second, func() error {
		for _, sha := range shas {
			if _, err := os.Stat(blobFile(c, victim, sha)); err != nil {
				return fmt.Errorf("wiped node still lacks %s", sha[:12])
			}
		}
		return nil
	})
}

func TestRangeAndResume(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	cl := c.Client(0)
	if _, err := cl.AppCreate(context.Background(), api.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	b := makeBundle(t, 1<<20)
	rev, _, err := push(t, cl, "web", b)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, 1, int64(len(b) / 2), int64(len(b) - 1)} {
		got, err := download(t, cl, rev.ID, off)
		if err != nil || !bytes.Equal(got, b[off:]) {
			t.Fatalf("download from %d: %d bytes, %v", off, len(got), err)
		}
	}
	status, header, body := getRange(t, c.URL(0), rev.ID, "bytes=10-19")
	if status != http.StatusPartialContent || !bytes.Equal(body, b[10:20]) ||
		header.Get("Content-Range") != fmt.Sprintf("bytes 10-19/%d", len(b)) {
		t.Fatalf("range: %d %q %q", status, header.Get("Content-Range"), body)
	}
}

func TestIdenticalContentIsStoredOnce(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	cl := c.Client(0)
	if _, err := cl.AppCreate(context.Background(), api.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	b := makeBundle(t, 64<<10)
	r1, created1, err := push(t, cl, "web", b)
	if err != nil || !created1 {
		t.Fatalf("first push: %v %v", created1, err)
	}
	r2, created2, err := push(t, cl, "web", b)
	if err != nil || created2 || r2.ID != r1.ID {
		t.Fatalf("second push of same content: id %s vs %s, created %v, %v", r2.ID, r1.ID, created2, err)
	}
	l, err := cl.RevisionList(context.Background(), "web", nil)
	if err != nil || len(l.Revisions) != 1 {
		t.Fatalf("revisions %+v %v", l, err)
	}
}

func TestBadUploadsAreRefusedAndLeaveNothing(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: func(_ int, cfg *config.Config) { cfg.Blobs.MaxSize = 1 << 20 }})
	ctx := context.Background()
	cl := c.Client(0)
	if _, err := cl.AppCreate(ctx, api.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	big := makeBundle(t, 2<<20)
	_, _, err := push(t, cl, "web", big)
	if api.ErrorCode(err) != api.CodeTooLarge || !strings.Contains(err.Error(), "1048576") {
		t.Fatalf("oversized: want too_large naming the limit, got %v", err)
	}
	// Without a declared length the limit holds while streaming.
	_, _, err = cl.RevisionPush(ctx, "web", io.MultiReader(bytes.NewReader(big)), -1, "", "")
	if api.ErrorCode(err) != api.CodeTooLarge {
		t.Fatalf("oversized stream: want too_large, got %v", err)
	}
	small := makeBundle(t, 1024)
	_, _, err = cl.RevisionPush(ctx, "web", bytes.NewReader(small), int64(len(small)), sum(big), "")
	if api.ErrorCode(err) != api.CodeBadRequest || !strings.Contains(err.Error(), "declared") {
		t.Fatalf("wrong hash: want bad_request, got %v", err)
	}
	_, _, err = cl.RevisionPush(ctx, "web", strings.NewReader("not an archive at all"), -1, "", "")
	if api.ErrorCode(err) != api.CodeBadRequest {
		t.Fatalf("not an archive: want bad_request, got %v", err)
	}
	_, _, err = cl.RevisionPush(ctx, "nope", bytes.NewReader(small), int64(len(small)), "", "")
	if !api.IsNotFound(err) {
		t.Fatalf("unknown app: want not found, got %v", err)
	}
	// An upload cut half-way leaves no revision and no temporary file.
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write(small[:len(small)/2])
		_ = pw.CloseWithError(errors.New("client went away"))
	}()
	_, _, err = cl.RevisionPush(ctx, "web", pr, int64(len(small)), "", "")
	if err == nil {
		t.Fatal("cut upload succeeded")
	}
	l, err := cl.RevisionList(ctx, "web", nil)
	if err != nil || len(l.Revisions) != 0 {
		t.Fatalf("revisions after refused uploads: %+v %v", l, err)
	}
	testutil.Eventually(t, 10*time.Second, func() error {
		if left := tmpFiles(t, c, 0); len(left) > 0 {
			return fmt.Errorf("temporary files left: %v", left)
		}
		return nil
	})
	entries, _ := os.ReadDir(filepath.Join(c.Config(0).DataDir, "blobs", "sha256"))
	if len(entries) != 0 {
		t.Fatalf("refused uploads left blob folders: %d", len(entries))
	}
}

func TestUnreferencedBlobsAreCollected(t *testing.T) {
	c := testutil.NewCluster(t, 3, testutil.Options{Tweak: func(i int, cfg *config.Config) {
		fastBlobs(i, cfg)
		cfg.Blobs.GCGrace = 300 * time.Millisecond
	}})
	ctx := context.Background()
	cl := c.Client(0)
	if _, err := cl.AppCreate(ctx, api.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	rev, _, err := push(t, cl, "web", makeBundle(t, 64<<10))
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, func() error {
		for i := 0; i < c.Len(); i++ {
			if _, err := os.Stat(blobFile(c, i, rev.SHA256)); err != nil {
				return fmt.Errorf("node %d lacks the blob", i)
			}
		}
		return nil
	})
	// Still referenced after the grace period: kept.
	time.Sleep(600 * time.Millisecond) //nolint:forbidigo // let the grace period pass; the assertion is that nothing happens
	if _, err := download(t, cl, rev.ID, 0); err != nil {
		t.Fatalf("referenced blob collected: %v", err)
	}
	if err := cl.AppDelete(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, func() error {
		for i := 0; i < c.Len(); i++ {
			if _, err := os.Stat(blobFile(c, i, rev.SHA256)); err == nil {
				return fmt.Errorf("node %d still holds the unreferenced blob", i)
			}
		}
		return nil
	})
}

// TestFullDiskRefusesUploadCleanly puts a server's data dir on a 4 MiB tmpfs: an upload that
// does not fit above the reserve fails with insufficient_storage, leaves nothing half-written,
// and the server keeps serving. It needs root to mount; elsewhere it is skipped.
func TestFullDiskRefusesUploadCleanly(t *testing.T) {
	mnt := t.TempDir()
	if err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt).Run(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (%v); run as root to test a full disk", err)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", mnt).Run() })
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: func(_ int, cfg *config.Config) {
		cfg.DataDir = filepath.Join(mnt, "data")
		cfg.Blobs.Reserve = 1 << 20 // the default (128 MiB) is more than this whole disk
	}})
	ctx := context.Background()
	cl := c.Client(0)
	if _, err := cl.AppCreate(ctx, api.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	_, _, err := push(t, cl, "web", makeBundle(t, 8<<20))
	if api.ErrorCode(err) != api.CodeNoSpace || !strings.Contains(err.Error(), "blobs.reserve") {
		t.Fatalf("want insufficient_storage naming the reserve the disk must keep, got %v", err)
	}
	if left := tmpFiles(t, c, 0); len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	l, err := cl.RevisionList(ctx, "web", nil)
	if err != nil || len(l.Revisions) != 0 {
		t.Fatalf("revisions after a failed push: %+v %v", l, err)
	}
	// The server keeps working: a small bundle still fits, and writes go on.
	if _, _, err := push(t, cl, "web", makeBundle(t, 64<<10)); err != nil {
		t.Fatalf("small push after a full-disk failure: %v", err)
	}
	if _, err := cl.AppCreate(ctx, api.AppCreateRequest{Name: "after"}); err != nil {
		t.Fatal(err)
	}
}
