package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// TestFetchResumesACutDownload: the first server cuts the body half-way; the second fetch
// resumes from the partial file with a Range request and the result is verified and complete.
func TestFetchResumesACutDownload(t *testing.T) {
	data := make([]byte, 1<<20)
	_, _ = rand.Read(data)
	sum := sha256.Sum256(data)
	var ranges []string
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer host-secret" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		ranges = append(ranges, r.Header.Get("Range"))
		if calls.Add(1) == 1 { // cut the first answer half-way
			w.Header().Set("Content-Length", "1048576")
			_, _ = w.Write(data[:len(data)/2])
			if hj, ok := w.(http.Hijacker); ok {
				conn, _, _ := hj.Hijack()
				_ = conn.Close()
			}
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}))
	defer srv.Close()
	f := &Fetcher{Secret: "host-secret", Client: srv.Client(), Servers: func() []string { return []string{srv.URL} }}
	rev := agentproto.Revision{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), Path: "/bundle"}
	dst := filepath.Join(t.TempDir(), "bundle")
	if err := f.Fetch(context.Background(), rev, dst); err == nil {
		t.Fatal("a cut download reported success")
	}
	if st, err := os.Stat(dst + ".part"); err != nil || st.Size() == 0 {
		t.Fatalf("no partial file kept to resume from: %v", err)
	}
	if err := f.Fetch(context.Background(), rev, dst); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("resumed file differs (%d bytes, %v)", len(got), err)
	}
	if len(ranges) != 2 || !strings.HasPrefix(ranges[1], "bytes=") || ranges[1] == "bytes=0-" {
		t.Fatalf("second request did not resume: ranges %q", ranges)
	}
}

func TestFetchRefusesWrongContent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("not what was promised"))
	}))
	defer srv.Close()
	f := &Fetcher{Secret: "s", Client: srv.Client(), Servers: func() []string { return []string{srv.URL} }}
	dst := filepath.Join(t.TempDir(), "bundle")
	err := f.Fetch(context.Background(), agentproto.Revision{SHA256: strings.Repeat("a", 64), Size: 21, Path: "/b"}, dst)
	if err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("want a sha256 mismatch, got %v", err)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Fatal("wrong content was put in place")
	}
}

// TestFetchMovesOnFromAStalledServer: a server that sends half the bundle and then goes silent
// (its connection open) is given up after Stall, and the next server resumes where it stopped.
func TestFetchMovesOnFromAStalledServer(t *testing.T) {
	data := make([]byte, 1<<20)
	_, _ = rand.Read(data)
	sum := sha256.Sum256(data)
	release := make(chan struct{})
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "1048576")
		_, _ = w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		<-release // silent, connection open
	}))
	defer stalled.Close()
	defer close(release) // before Close, which waits for the handler
	var resumedFrom atomic.Value
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resumedFrom.Store(r.Header.Get("Range"))
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}))
	defer good.Close()
	f := &Fetcher{Secret: "s", Client: NewFetchClient(nil), Stall: 200 * time.Millisecond,
		Servers: func() []string { return []string{stalled.URL, good.URL} }}
	rev := agentproto.Revision{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), Path: "/bundle"}
	dst := filepath.Join(t.TempDir(), "bundle")
	// Without the stall bound the fetch would wait on the first server until this deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := f.Fetch(ctx, rev, dst); err != nil {
		t.Fatalf("fetch with a stalled first server: %v", err)
	}
	got, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("file differs (%d bytes, %v)", len(got), err)
	}
	if r, _ := resumedFrom.Load().(string); r != "bytes=524288-" {
		t.Fatalf("the second server was asked for %q, want the rest from where the first stalled", r)
	}
}
