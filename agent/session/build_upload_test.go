package session

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestUploadAndDownloadMoveOnAcrossServers: a server that fails (5xx, a cut stream) is left
// for the next one; one that refuses (4xx) ends the attempt at once, as every server would say
// the same. A source download that was cut leaves no files of the failed attempt.
func TestUploadAndDownloadMoveOnAcrossServers(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 8<<10) // 128 KiB: the cut falls inside it
	good := newBuildServer(t, gitTar(t, map[string]string{"a.txt": big, "b/c.txt": "c"}), nil)
	var downHits, refuseHits atomic.Int32
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		downHits.Add(1)
		if r.Method == http.MethodGet {
			// Half a tar, then the connection dies.
			w.Header().Set("Content-Length", "100000")
			_, _ = w.Write(good.tar[:20<<10])
			return
		}
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refuseHits.Add(1)
		http.Error(w, "the build is not in progress on this host", http.StatusConflict)
	}))
	t.Cleanup(refuse.Close)
	fetcher := func(servers ...string) *Fetcher {
		return &Fetcher{Secret: testHostSecret, Client: NewFetchClient(nil), Servers: func() []string { return servers }}
	}
	ctx := context.Background()

	dir := t.TempDir()
	if err := fetcher(down.URL, good.srv.URL).DownloadSource(ctx, "/v1/agent/builds/web:1/source", dir, SourceLimits{}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "b", "c.txt")); err != nil || string(b) != "c" {
		t.Fatalf("b/c.txt %q %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "a.txt")); err != nil || string(b) != big {
		t.Fatalf("a.txt: %d bytes, %v", len(b), err)
	}
	if downHits.Load() != 1 {
		t.Fatalf("the server that cut the stream was asked %d times", downHits.Load())
	}

	zip := filepath.Join(t.TempDir(), "a.zip")
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f.txt"), []byte("f"), 0o644); err != nil {
		t.Fatal(err)
	}
	files, sum, size, err := ZipDir(src, zip)
	if err != nil || files != 1 || size == 0 {
		t.Fatalf("zip: %d files, %d bytes, %v", files, size, err)
	}
	zip2 := filepath.Join(t.TempDir(), "b.zip")
	if _, sum2, _, err := ZipDir(src, zip2); err != nil || sum2 != sum {
		t.Fatalf("the same tree zipped twice differs: %s %s %v", sum, sum2, err)
	}
	up, err := fetcher(down.URL, good.srv.URL).UploadArtifact(ctx, "/v1/agent/builds/web:1/artifacts", "primary", zip, sum)
	if err != nil || up.SHA256 != sum {
		t.Fatalf("upload %+v %v", up, err)
	}

	before := downHits.Load()
	_, err = fetcher(refuse.URL, down.URL, good.srv.URL).UploadArtifact(ctx, "/v1/agent/builds/web:1/artifacts", "primary", zip, sum)
	if err == nil || !strings.Contains(err.Error(), "not in progress on this host") || downHits.Load() != before {
		t.Fatalf("a refusal did not end the upload: %v (other server asked %d times)", err, downHits.Load()-before)
	}
	if _, err := fetcher(refuse.URL).BuildSecrets(ctx, "/v1/agent/builds/web:1/secrets", []string{"x"}); err == nil || refuseHits.Load() != 2 {
		t.Fatalf("secrets from a refusing server: %v, %d requests", err, refuseHits.Load())
	}
}
