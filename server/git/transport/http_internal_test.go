package transport

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// flushCounter is a ResponseWriter that records what was written at each flush.
type flushCounter struct {
	*httptest.ResponseRecorder
	flushedAt []int // the body's length at each flush
}

func (f *flushCounter) Flush() { f.flushedAt = append(f.flushedAt, f.Body.Len()) }

// chunks is a reader that returns its chunks one per Read, as a pipe returns what git wrote.
type chunks [][]byte

func (c *chunks) Read(p []byte) (int, error) {
	if len(*c) == 0 {
		return 0, io.EOF
	}
	n := copy(p, (*c)[0])
	if n == len((*c)[0]) {
		*c = (*c)[1:]
	} else {
		(*c)[0] = (*c)[0][n:]
	}
	return n, nil
}

// TestGitWriterReadFrom: git's output is copied whole, with the headers first; a flush follows
// every read that drained the pipe (a short read: progress, the end of an answer) and the end,
// and none follows a full buffer (more is coming).
func TestGitWriterReadFrom(t *testing.T) {
	full := bytes.Repeat([]byte("p"), copyBufferSize)
	in := chunks{[]byte("progress 1"), full, full, []byte("tail"), []byte("progress 2")}
	var want []byte
	for _, c := range in {
		want = append(want, c...)
	}
	w := &flushCounter{ResponseRecorder: httptest.NewRecorder()}
	g := &gitWriter{w: w, contentType: "application/x-git-upload-pack-result", prefix: []byte("0000")}
	n, err := io.Copy(g, &in)
	if err != nil || n != int64(len(want)) {
		t.Fatalf("copied %d bytes, %v; want %d, nil", n, err, len(want))
	}
	if got := w.Body.Bytes(); !bytes.Equal(got, append([]byte("0000"), want...)) {
		t.Fatalf("the body is %d bytes, not the prefix and git's %d", len(got), len(want))
	}
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/x-git-upload-pack-result" {
		t.Errorf("status %d, Content-Type %q", w.Code, w.Header().Get("Content-Type"))
	}
	p := len("0000")
	wantFlushes := []int{p + 10, p + 10 + 2*copyBufferSize + 4, p + len(want), p + len(want)}
	if len(w.flushedAt) != len(wantFlushes) {
		t.Fatalf("flushed at %v; want %v", w.flushedAt, wantFlushes)
	}
	for i := range wantFlushes {
		if w.flushedAt[i] != wantFlushes[i] {
			t.Fatalf("flushed at %v; want %v", w.flushedAt, wantFlushes)
		}
	}
}

// TestPushTimingAttrs: the parts of the time after the push's body add up to it, and a step
// that did not happen (no pack to store) is nil and adds to the next one.
func TestPushTimingAttrs(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	attrs := func(pt pushTiming) map[string]any {
		m := map[string]any{}
		a := pt.attrs()
		for i := 0; i < len(a); i += 2 {
			m[a[i].(string)] = a[i+1]
		}
		return m
	}
	got := attrs(pushTiming{bodyEnd: t0, storeStart: at(100), storeEnd: at(300), proposeStart: at(310), proposeEnd: at(340), answered: at(350)})
	want := map[string]any{"after_body_ms": int64(350), "index_ms": int64(100), "store_pack_ms": int64(200), "migrate_ms": int64(10), "propose_ms": int64(30), "report_ms": int64(10)}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v; want %v (all: %v)", k, got[k], v, got)
		}
	}
	got = attrs(pushTiming{bodyEnd: t0, proposeStart: at(40), proposeEnd: at(60), answered: at(70)})
	want = map[string]any{"after_body_ms": int64(70), "index_ms": nil, "store_pack_ms": nil, "migrate_ms": int64(40), "propose_ms": int64(20), "report_ms": int64(10)}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("without a pack: %s = %v; want %v (all: %v)", k, got[k], v, got)
		}
	}
}
