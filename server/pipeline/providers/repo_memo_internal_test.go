package providers

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/slipwayhq/slipway/server/core/state"
)

// TestArchiveMemoRunsOneArchivePerCommit: many source actions of one commit at once archive it
// once and share the blob; an error is not remembered (the next call archives again); another
// commit is archived on its own.
func TestArchiveMemoRunsOneArchivePerCommit(t *testing.T) {
	var m archiveMemo
	var runs atomic.Int32
	release := make(chan struct{})
	fn := func() (archived, error) {
		runs.Add(1)
		<-release
		return archived{blob: state.Blob{SHA256: "aa"}}, nil
	}
	var wg sync.WaitGroup
	got := make([]archived, 20)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := m.get(context.Background(), "repo\x00c1", fn)
			if err != nil {
				t.Error(err)
			}
			got[i] = a
		}()
	}
	close(release)
	wg.Wait()
	if n := runs.Load(); n != 1 {
		t.Fatalf("20 source actions of one commit archived it %d times, want once", n)
	}
	for _, a := range got {
		if a.blob.SHA256 != "aa" {
			t.Fatalf("a caller got %+v", a)
		}
	}
	before := runs.Load()
	if _, err := m.get(context.Background(), "repo\x00c1", fn); err != nil || runs.Load() != before {
		t.Fatalf("a remembered commit was archived again (%d -> %d), %v", before, runs.Load(), err)
	}

	boom := errors.New("boom")
	fails := 0
	failing := func() (archived, error) { fails++; return archived{}, boom }
	for range 2 {
		if _, err := m.get(context.Background(), "repo\x00c2", failing); !errors.Is(err, boom) {
			t.Fatalf("want the archive's error, got %v", err)
		}
	}
	if fails != 2 {
		t.Fatalf("a failed archive was remembered: %d runs, want 2", fails)
	}
}
