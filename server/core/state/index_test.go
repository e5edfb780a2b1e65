package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

var (
	testItems  = []byte("test/items")    // name -> color (JSON string)
	testByColr = []byte("test/by_color") // color | 0 | name -> nil
)

// colorIndex is a derived bucket over testItems, counting its builds.
func colorIndex(builds *int) Index {
	return Index{Bucket: testByColr, Build: func(tx *Tx) error {
		*builds++
		c := tx.Bucket(testItems).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var color string
			if err := json.Unmarshal(v, &color); err != nil {
				return err
			}
			if err := tx.Bucket(testByColr).Put([]byte(color+"\x00"+string(k)), nil); err != nil {
				return err
			}
		}
		return nil
	}}
}

func indexKeys(t *testing.T, s *Store) []string {
	t.Helper()
	var keys []string
	if err := s.View(func(tx *Tx) error {
		c := tx.Bucket(testByColr).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			keys = append(keys, strings.ReplaceAll(string(k), "\x00", "|"))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys
}

// snapshotWithoutIndex returns a snapshot of a state written by a release that had testItems
// but not the index over it.
func snapshotWithoutIndex(t *testing.T) *bytes.Buffer {
	t.Helper()
	old, err := Open(filepath.Join(t.TempDir(), "old.db"), testItems)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = old.Close() }()
	if err := old.Update(func(tx *Tx) error {
		for name, color := range map[string]string{"apple": "red", "kiwi": "green", "cherry": "red"} {
			if err := Put(tx, testItems, name, color); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := old.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return &buf
}

// TestIndexBuiltOnOpenAndOnRestoreOfOlderSnapshot: a derived bucket is built when a fresh store
// opens, and again when a snapshot written before it existed is restored; a snapshot that has it
// already keeps it as it is, without a build.
func TestIndexBuiltOnOpenAndOnRestoreOfOlderSnapshot(t *testing.T) {
	builds := 0
	s, err := OpenIndexed(filepath.Join(t.TempDir(), "state.db"), [][]byte{testItems, testByColr}, []Index{colorIndex(&builds)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if builds != 1 || len(indexKeys(t, s)) != 0 {
		t.Fatalf("a fresh store: %d builds, index %v; want 1 build of an empty index", builds, indexKeys(t, s))
	}

	if err := s.Restore(snapshotWithoutIndex(t)); err != nil {
		t.Fatal(err)
	}
	want := []string{"green|kiwi", "red|apple", "red|cherry"}
	if got := indexKeys(t, s); builds != 2 || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("after restoring an older snapshot: %d builds, index %v; want 2, %v", builds, got, want)
	}

	// A snapshot that has the index (this release's) restores as it is.
	if err := s.Update(func(tx *Tx) error { return tx.Bucket(testByColr).Put([]byte("blue\x00sky"), nil) }); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if err := s.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	if got := indexKeys(t, s); builds != 2 || len(got) != 4 || got[0] != "blue|sky" {
		t.Fatalf("after restoring a snapshot with the index: %d builds, index %v; want no build and the index kept", builds, got)
	}
}

// TestIndexBuildFailureLeavesStateUntouched: a builder's error fails the restore, and the
// current state stays.
func TestIndexBuildFailureLeavesStateUntouched(t *testing.T) {
	fail := false
	ix := Index{Bucket: testByColr, Build: func(tx *Tx) error {
		if fail {
			return errors.New("broken")
		}
		return tx.Bucket(testByColr).Put([]byte("x"), nil)
	}}
	s, err := OpenIndexed(filepath.Join(t.TempDir(), "state.db"), [][]byte{testItems, testByColr}, []Index{ix})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	fail = true
	if err := s.Restore(snapshotWithoutIndex(t)); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("restore with a failing builder: %v", err)
	}
	if got := indexKeys(t, s); len(got) != 1 || got[0] != "x" {
		t.Fatalf("the state changed on a failed restore: %v", got)
	}
}

// TestIndexMustBeDeclared: an index over an undeclared bucket, or without a builder, is refused.
func TestIndexMustBeDeclared(t *testing.T) {
	for _, ix := range []Index{{Bucket: testByColr, Build: func(*Tx) error { return nil }}, {Bucket: testItems}} {
		if _, err := OpenIndexed(filepath.Join(t.TempDir(), "state.db"), [][]byte{testItems}, []Index{ix}); err == nil {
			t.Errorf("index %q accepted", ix.Bucket)
		}
	}
}
