package bundle

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"testing"
)

// fuzzLimits keep fuzzing fast and also exercise the limit paths.
var fuzzLimits = Limits{MaxBytes: 1 << 20, MaxEntries: 64}

// seedTars are valid and hostile tar archives shared by the tar fuzzers.
func seedTars(t testing.TB) [][]byte {
	return [][]byte{
		buildTar(t, []tarEntry{{name: "appspec.yml", body: "version: 0.0\n"}, {name: "d/", typ: tar.TypeDir, mode: 0o755}}),
		buildTar(t, []tarEntry{{name: "../evil", body: "x"}}),
		buildTar(t, []tarEntry{{name: "a", typ: tar.TypeSymlink, link: "."}, {name: "b", typ: tar.TypeSymlink, link: "a/.."}}),
		buildTar(t, []tarEntry{{name: "l", typ: tar.TypeSymlink, link: "d"}, {name: "l/x", body: "x"}}),
		buildTar(t, []tarEntry{{name: "h", typ: tar.TypeLink, link: "../x"}, {name: "p", typ: tar.TypeFifo}}),
	}
}

// fuzzUnpack runs unpack in a sandbox and checks the one property that
// matters whatever the input: nothing is written outside the target and no
// symlink left in it resolves outside.
func fuzzUnpack(t *testing.T, unpack func(dest string) error) {
	base, dest := sandbox(t)
	_ = unpack(dest)
	assertNothingOutside(t, base, dest)
}

func FuzzUnpackTar(f *testing.F) {
	for _, s := range seedTars(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzUnpack(t, func(dest string) error { return UnpackTar(bytes.NewReader(data), dest, fuzzLimits) })
	})
}

func FuzzUnpackTarGz(f *testing.F) {
	for _, s := range seedTars(f) {
		f.Add(gzipBytes(f, s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzUnpack(t, func(dest string) error { return UnpackTarGz(bytes.NewReader(data), dest, fuzzLimits) })
	})
}

func FuzzUnpackZip(f *testing.F) {
	f.Add(buildZip(f, []zipEntry{{name: "appspec.yml", body: "version: 0.0\n"}, {name: "d/", mode: fs.ModeDir | 0o755}}))
	f.Add(buildZip(f, []zipEntry{{name: "../../evil", body: "x"}}))
	f.Add(buildZip(f, []zipEntry{{name: "l", body: "..", mode: fs.ModeSymlink | 0o777}, {name: "l/x", body: "x"}}))
	f.Add(buildZip(f, []zipEntry{{name: `a\..\..\b`, body: "x"}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzUnpack(t, func(dest string) error {
			return UnpackZip(bytes.NewReader(data), int64(len(data)), dest, fuzzLimits)
		})
	})
}
