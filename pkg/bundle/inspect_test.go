package bundle

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// specAt is where appspec.FindSpec would find the spec in dir ("" for
// nowhere), written here as its rule (appspec/find.go) so that this package
// does not import appspec; TestInspectFindsTheSpecLikeTheAgent holds the
// two to the same answers on real unpacked trees.
func specAt(t *testing.T, dir string) string {
	t.Helper()
	try := func(d string) string {
		for _, n := range SpecNames {
			if fi, err := os.Lstat(filepath.Join(dir, d, n)); err == nil && fi.Mode().IsRegular() {
				return strings.TrimPrefix(d+"/"+n, "/")
			}
		}
		return ""
	}
	if p := try(""); p != "" {
		return p
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) == 1 && entries[0].IsDir() {
		return try(entries[0].Name())
	}
	return ""
}

func TestInspectFindsTheSpecLikeTheAgent(t *testing.T) {
	spec := "version: 0.0\nos: linux\n"
	layouts := map[string][]tarEntry{
		"root yml":             {{name: "app/x", body: "x"}, {name: "appspec.yml", body: spec}},
		"root yaml wins":       {{name: "appspec.yml", body: "yml"}, {name: "appspec.yaml", body: spec}},
		"dot slash":            {{name: "./", typ: tar.TypeDir}, {name: "./appspec.yml", body: spec}},
		"one folder":           {{name: "rel/", typ: tar.TypeDir}, {name: "rel/appspec.yml", body: spec}, {name: "rel/app/x", body: "x"}},
		"one folder, implied":  {{name: "rel/appspec.yaml", body: spec}},
		"two folders":          {{name: "a/appspec.yml", body: spec}, {name: "b/x", body: "x"}},
		"folder and file":      {{name: "a/appspec.yml", body: spec}, {name: "README", body: "x"}},
		"nested too deep":      {{name: "a/b/appspec.yml", body: spec}},
		"spec is a folder":     {{name: "appspec.yml/", typ: tar.TypeDir}, {name: "appspec.yml/x", body: "x"}},
		"spec is a symlink":    {{name: "real", body: spec}, {name: "appspec.yml", typ: tar.TypeSymlink, link: "real"}},
		"wrong case":           {{name: "AppSpec.yml", body: spec}},
		"one file at the root": {{name: "appspec.txt", body: spec}},
	}
	for name, entries := range layouts {
		data := buildTar(t, entries)
		for format, archive := range map[Format][]byte{Tar: data, TarGzip: gzipBytes(t, data)} {
			t.Run(name+"/"+format.String(), func(t *testing.T) {
				dest := filepath.Join(t.TempDir(), "out")
				if err := UnpackTar(bytes.NewReader(data), dest, Limits{}); err != nil {
					t.Fatal(err)
				}
				want := specAt(t, dest)
				in, err := Inspect(bytes.NewReader(archive), int64(len(archive)), Limits{})
				if want == "" {
					if !errors.Is(err, ErrNoSpec) || !strings.Contains(err.Error(), "appspec.yml") {
						t.Fatalf("Inspect = %+v, %v; want ErrNoSpec naming where it looked", in, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("Inspect: %v (the agent finds %s)", err, want)
				}
				body, _ := os.ReadFile(filepath.Join(dest, want))
				if in.SpecPath != want || !bytes.Equal(in.Spec, body) || in.Format != format || !in.Complete {
					t.Fatalf("Inspect = %s %q %v complete=%v; want %s %q", in.SpecPath, in.Spec, in.Format, in.Complete, want, body)
				}
			})
		}
	}
	t.Run("zip", func(t *testing.T) {
		z := buildZip(t, []zipEntry{{name: `rel\`, mode: fs.ModeDir | 0o755}, {name: `rel\appspec.yml`, body: spec}})
		in, err := Inspect(bytes.NewReader(z), int64(len(z)), Limits{})
		if err != nil || in.SpecPath != "rel/appspec.yml" || string(in.Spec) != spec || in.Format != Zip {
			t.Fatalf("Inspect = %+v, %v", in, err)
		}
		z = buildZip(t, []zipEntry{{name: "appspec.yml", body: "target", mode: fs.ModeSymlink | 0o777}})
		if _, err := Inspect(bytes.NewReader(z), int64(len(z)), Limits{}); !errors.Is(err, ErrNoSpec) {
			t.Fatalf("a symlinked spec: %v", err)
		}
	})
}

func TestInspectRefuses(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
		return b
	}
	spec := tarEntry{name: "appspec.yml", body: "version: 0.0\n"}
	good := buildTar(t, []tarEntry{spec, {name: "f", body: strings.Repeat("x", 3000)}})
	cases := []struct {
		name string
		data []byte
		lim  Limits
		want error
	}{
		{"random bytes", random(1 << 20), Limits{}, ErrUnknownFormat},
		{"empty", nil, Limits{}, ErrUnknownFormat},
		{"gzip magic then random", append([]byte{0x1f, 0x8b}, random(4096)...), Limits{}, ErrDamaged},
		{"gzip of random", gzipBytes(t, random(4096)), Limits{}, ErrDamaged},
		{"zip magic then random", append([]byte("PK\x03\x04"), random(4096)...), Limits{}, ErrDamaged},
		{"tar header then random", append(good[:512:512], random(4096)...), Limits{}, ErrDamaged},
		{"tar cut after the spec", good[:1536+512], Limits{}, ErrDamaged},
		{"tar.gz cut after the spec", gzipBytes(t, good[:1536+512]), Limits{}, ErrDamaged},
		{"no spec", buildTar(t, []tarEntry{{name: "app/x", body: "x"}}), Limits{}, ErrNoSpec},
		{"traversal", buildTar(t, []tarEntry{spec, {name: "../x", body: "x"}}), Limits{}, ErrUnsafePath},
		{"fifo", buildTar(t, []tarEntry{spec, {name: "p", typ: tar.TypeFifo}}), Limits{}, ErrUnsupportedType},
		{"entries", buildTar(t, []tarEntry{spec, {name: "a"}, {name: "b"}}), Limits{MaxEntries: 2}, ErrTooManyEntries},
		{"zip entries", buildZip(t, []zipEntry{{name: "appspec.yml"}, {name: "a"}, {name: "b"}}), Limits{MaxEntries: 2}, ErrTooManyEntries},
		{"zip traversal", buildZip(t, []zipEntry{{name: "appspec.yml"}, {name: `..\x`}}), Limits{}, ErrUnsafePath},
		{"huge spec", buildTar(t, []tarEntry{{name: "appspec.yml", body: strings.Repeat("#", MaxSpecSize+1)}}), Limits{}, ErrTooLarge},
		{"huge zip spec", buildZip(t, []zipEntry{{name: "appspec.yml", body: strings.Repeat("#", MaxSpecSize+1)}}), Limits{}, ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, err := Inspect(bytes.NewReader(c.data), int64(len(c.data)), c.lim)
			if !errors.Is(err, c.want) {
				t.Fatalf("Inspect = %+v, %v; want %v", in, err, c.want)
			}
		})
	}
}

// TestInspectBoundsTarGzWork: a tar.gz is decompressed only up to the
// unpacked-size limit; Inspect then judges what it read.
func TestInspectBoundsTarGzWork(t *testing.T) {
	spec := tarEntry{name: "appspec.yml", body: "version: 0.0\n"}
	zeros := tarEntry{name: "zeros", body: strings.Repeat("\x00", 1<<20)}
	first := gzipBytes(t, buildTar(t, []tarEntry{spec, zeros, {name: "../after-the-budget", body: "x"}}))
	in, err := Inspect(bytes.NewReader(first), int64(len(first)), Limits{MaxBytes: 64 << 10})
	if err != nil || in.Complete || in.SpecPath != "appspec.yml" {
		t.Fatalf("spec first: %+v, %v; want an incomplete inspection that found the spec", in, err)
	}
	last := gzipBytes(t, buildTar(t, []tarEntry{zeros, spec}))
	if _, err := Inspect(bytes.NewReader(last), int64(len(last)), Limits{MaxBytes: 64 << 10}); !errors.Is(err, ErrNoSpec) {
		t.Fatalf("spec after the budget: %v, want ErrNoSpec", err)
	}
	if in, err := Inspect(bytes.NewReader(last), int64(len(last)), Limits{}); err != nil || !in.Complete {
		t.Fatalf("within the budget: %+v, %v", in, err)
	}
}

// BenchmarkInspect measures the upload check on a bundle of 64 MiB of incompressible data (and,
// for "tar.gz text", of 64 MiB of text that compresses about 4 times), the extra work the server
// does per upload: go test -bench Inspect ./pkg/bundle. MB/s is of the archive's size.
func BenchmarkInspect(b *testing.B) {
	payload := make([]byte, 64<<20)
	rnd := rand.New(rand.NewPCG(3, 4))
	for i := range payload {
		payload[i] = byte(rnd.Uint32())
	}
	tarData := buildTar(b, []tarEntry{{name: "appspec.yml", body: "version: 0.0\nos: linux\n"}, {name: "payload", body: string(payload)}})
	var text strings.Builder
	for text.Len() < 64<<20 {
		fmt.Fprintf(&text, "func f%d(x int) int { return x * %d } // line %d\n", rnd.IntN(1000000), rnd.IntN(1000), text.Len())
	}
	textTar := buildTar(b, []tarEntry{{name: "appspec.yml", body: "version: 0.0\nos: linux\n"}, {name: "src.go", body: text.String()}})
	for name, data := range map[string][]byte{
		"tar.gz text": gzipBytes(b, textTar),
		"tar":         tarData,
		"tar.gz":      gzipBytes(b, tarData),
		"zip":         buildZip(b, []zipEntry{{name: "appspec.yml", body: "version: 0.0\nos: linux\n"}, {name: "payload", body: string(payload)}}),
	} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Inspect(bytes.NewReader(data), int64(len(data)), Limits{MaxExpansion: 100}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
