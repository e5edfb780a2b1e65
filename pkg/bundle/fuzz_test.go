package bundle

import (
	"archive/tar"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzLimits keep fuzzing fast and also exercise the limit paths.
var fuzzLimits = Limits{MaxBytes: 1 << 20, MaxEntries: 64}

// Why the harness looks like this: every exec unpacks to disk, and the Go
// fuzz engine minimises each new interesting input (up to
// -fuzzminimizetime, 60 s by default) before it reports any exec, with an
// O(n²) pass over the input's bytes. With a fresh t.TempDir per exec on a
// disk-backed /tmp an exec cost about 1 ms, and tar inputs are large
// (512-byte headers, data padded to 512, plus a 1 KiB end marker), so one
// interesting tar input held a worker for the whole minute and the target
// showed tens of execs in 12 s. Hence: tar seeds without the end marker
// (archive/tar reads a clean EOF at a header boundary as the end), and one
// sandbox per fuzz process, on tmpfs when there is one, emptied after each
// exec instead of created and removed through t.TempDir.

// endMarker is the two zero blocks that end a tar archive.
const endMarker = 2 * 512

// seedTars are valid and hostile tar archives shared by the tar fuzzers,
// each without the end marker to keep inputs small.
func seedTars(t testing.TB) [][]byte {
	seeds := [][]tarEntry{
		{{name: "appspec.yml", body: "version: 0.0\n"}, {name: "d/", typ: tar.TypeDir, mode: 0o755}},
		{{name: "../evil", body: "x"}},
		{{name: "a", typ: tar.TypeSymlink, link: "."}, {name: "b", typ: tar.TypeSymlink, link: "a/.."}},
		{{name: "l", typ: tar.TypeSymlink, link: "d"}, {name: "l/x", body: "x"}},
		{{name: "h", typ: tar.TypeLink, link: "../x"}, {name: "p", typ: tar.TypeFifo}},
		{{name: "f", body: "x", mode: 0o4755}, {name: "g", typ: tar.TypeLink, link: "f"}},
		{{name: "ro/", typ: tar.TypeDir, mode: 0o500}, {name: "ro/f", body: "x"}},
	}
	out := make([][]byte, 0, len(seeds))
	for _, s := range seeds {
		b := buildTar(t, s)
		out = append(out, b[:len(b)-endMarker])
	}
	return out
}

// fuzzSandbox is the folder tree one fuzz process unpacks into, exec after
// exec: dest is base/a/b/out, so that a write escaping dest by one, two or
// three levels is seen.
type fuzzSandbox struct {
	base, dest string
	chain      []string // base, base/a, base/a/b
}

func newFuzzSandbox(f *testing.F) *fuzzSandbox {
	base := fuzzTempDir(f)
	s := &fuzzSandbox{base: base, dest: filepath.Join(base, "a", "b", "out")}
	s.chain = []string{base, filepath.Join(base, "a"), filepath.Join(base, "a", "b")}
	return s
}

// fuzzTempDir is a folder for the whole fuzz process: on tmpfs (/dev/shm)
// when TMPDIR is not set and it is usable, an order of magnitude cheaper
// per exec than a disk; else f.TempDir.
func fuzzTempDir(f *testing.F) string {
	if os.Getenv("TMPDIR") == "" {
		if d, err := os.MkdirTemp("/dev/shm", "slipway-bundle-fuzz-"); err == nil {
			f.Cleanup(func() {
				if err := RemoveTree(d); err != nil {
					f.Errorf("remove fuzz sandbox: %v", err)
				}
			})
			return d
		}
	}
	return f.TempDir()
}

// run unpacks into the sandbox and checks the one property that matters
// whatever the input: nothing is written outside the target and no symlink
// left in it resolves outside. The sandbox is emptied afterwards, so every
// exec starts from the same state (which crash minimisation relies on).
func (s *fuzzSandbox) run(t *testing.T, unpack func(dest string) error) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(s.dest), 0o755); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.reset(); err != nil {
			t.Fatalf("empty the fuzz sandbox: %v", err)
		}
	}()
	_ = unpack(s.dest)
	for i, dir := range s.chain {
		next := s.dest
		if i+1 < len(s.chain) {
			next = s.chain[i+1]
		}
		assertOnlyChild(t, dir, filepath.Base(next))
	}
	assertNothingOutside(t, s.chain[len(s.chain)-1], s.dest)
}

// reset removes everything in the sandbox but the folder chain to dest.
func (s *fuzzSandbox) reset() error {
	for i, dir := range s.chain {
		keep := ""
		if i+1 < len(s.chain) {
			keep = filepath.Base(s.chain[i+1])
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.Name() == keep {
				continue
			}
			if err := RemoveTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// assertOnlyChild fails when dir holds anything but the entry named child.
func assertOnlyChild(t testing.TB, dir, child string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != child {
			t.Fatalf("unpack wrote %s outside the target folder", filepath.Join(dir, e.Name()))
		}
	}
}

func FuzzUnpackTar(f *testing.F) {
	for _, s := range seedTars(f) {
		f.Add(s)
	}
	sb := newFuzzSandbox(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		sb.run(t, func(dest string) error { return UnpackTar(bytes.NewReader(data), dest, fuzzLimits) })
	})
}

func FuzzUnpackTarGz(f *testing.F) {
	for _, s := range seedTars(f) {
		f.Add(gzipBytes(f, s))
	}
	sb := newFuzzSandbox(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		sb.run(t, func(dest string) error { return UnpackTarGz(bytes.NewReader(data), dest, fuzzLimits) })
	})
}

func FuzzUnpackZip(f *testing.F) {
	f.Add(buildZip(f, []zipEntry{{name: "appspec.yml", body: "version: 0.0\n"}, {name: "d/", mode: fs.ModeDir | 0o755}}))
	f.Add(buildZip(f, []zipEntry{{name: "../../evil", body: "x"}}))
	f.Add(buildZip(f, []zipEntry{{name: "l", body: "..", mode: fs.ModeSymlink | 0o777}, {name: "l/x", body: "x"}}))
	f.Add(buildZip(f, []zipEntry{{name: `a\..\..\b`, body: "x"}}))
	sb := newFuzzSandbox(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		sb.run(t, func(dest string) error {
			return UnpackZip(bytes.NewReader(data), int64(len(data)), dest, fuzzLimits)
		})
	})
}

// FuzzInspect: Inspect never panics, and what it accepts has an AppSpec
// where agents look, no larger than MaxSpecSize.
func FuzzInspect(f *testing.F) {
	for _, s := range seedTars(f) {
		f.Add(s)
		f.Add(gzipBytes(f, s))
	}
	f.Add(buildZip(f, []zipEntry{{name: "rel/appspec.yml", body: "version: 0.0\n"}, {name: "rel/", mode: fs.ModeDir | 0o755}}))
	f.Add(buildZip(f, []zipEntry{{name: "appspec.yaml", body: "version: 0.0\n"}, {name: `..\x`, body: "x"}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := Inspect(bytes.NewReader(data), int64(len(data)), fuzzLimits)
		if err != nil {
			return
		}
		base := path.Base(in.SpecPath)
		if (base != "appspec.yml" && base != "appspec.yaml") || strings.Count(in.SpecPath, "/") > 1 || len(in.Spec) > MaxSpecSize {
			t.Fatalf("accepted with spec %q (%d bytes)", in.SpecPath, len(in.Spec))
		}
	})
}
