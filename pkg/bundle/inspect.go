package bundle

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// SpecNames are the AppSpec file names agents look for, in order of
// preference (appspec.FindSpec's order; that package is the reference).
var SpecNames = []string{"appspec.yaml", "appspec.yml"}

// MaxSpecSize is the largest AppSpec file Inspect reads.
const MaxSpecSize = 1 << 20

// More sentinels, for Inspect.
var (
	// ErrDamaged: the data has an archive's magic bytes but cannot be read
	// as that archive.
	ErrDamaged = errors.New("the archive is damaged")
	// ErrNoSpec: the archive has no AppSpec file where agents look for it.
	ErrNoSpec = errors.New("the archive has no appspec.yml at its root")
)

// Inspection is what Inspect found in an archive.
type Inspection struct {
	Format  Format
	Entries int // entries read
	// SpecPath is the AppSpec file's path in the archive, slash-separated
	// and clean: "appspec.yml", or "app/appspec.yml" when everything is in
	// one folder. Spec is its content.
	SpecPath string
	Spec     []byte
	// Complete is false when a tar.gz was read only up to lim's unpacked
	// size (see Inspect): the entries after that point were not checked.
	Complete bool
}

// Inspect checks, without unpacking it, that the archive of size bytes at r
// is a tar, tar.gz or zip (by magic bytes) that agents can use, and returns
// its AppSpec file. It finds the AppSpec as the agent does (appspec.yaml,
// then appspec.yml, at the root; else, when the root holds a single folder,
// the same names inside it) and refuses, wrapping a sentinel:
//
//   - data that is no archive (ErrUnknownFormat) or a damaged one (ErrDamaged);
//   - an entry name that leaves the root (ErrUnsafePath) and a device or
//     fifo (ErrUnsupportedType), which agents refuse too;
//   - more than lim.MaxEntries entries (ErrTooManyEntries);
//   - no AppSpec (ErrNoSpec), or one larger than MaxSpecSize (ErrTooLarge).
//
// It reads each part of the archive at most once and holds at most the
// AppSpec candidates in memory: a zip's central directory is counted
// before it is loaded, a tar is read header by header with its file data
// skipped (seeked over), and a tar.gz is decompressed as one stream. The
// work on a tar.gz is bounded by lim.MaxUnpacked: when that many bytes have
// been decompressed Inspect stops and judges the entries read so far
// (Complete is false); unpacking agents enforce their own limits. Symlinks
// are not resolved: an AppSpec must be a regular file, as the agent wants. (One difference
// remains: an AppSpec stored as a tar hard link is a regular file once unpacked, which the
// agent would use, but Inspect does not follow hard links and reports ErrNoSpec.)
func Inspect(r io.ReaderAt, size int64, lim Limits) (*Inspection, error) {
	if lim.ArchiveSize <= 0 {
		lim.ArchiveSize = size
	}
	lim = lim.withDefaults()
	format, err := DetectReaderAt(r)
	if err != nil {
		return nil, err
	}
	in := &Inspection{Format: format, Complete: true}
	f := &specFinder{}
	switch format {
	case Tar:
		err = inspectTar(io.NewSectionReader(r, 0, size), lim, in, f)
	case TarGzip:
		err = inspectTarGz(io.NewSectionReader(r, 0, size), lim, in, f)
	case Zip:
		err = inspectZip(r, size, lim, in, f)
	default:
		return nil, ErrUnknownFormat
	}
	if err != nil {
		return nil, err
	}
	in.SpecPath, in.Spec = f.result()
	if in.SpecPath == "" {
		return nil, fmt.Errorf("%w: looked for %s", ErrNoSpec, f.looked())
	}
	return in, nil
}

// specFinder follows the entries of an archive and keeps the AppSpec
// candidates: the spec names at the root, and inside the first top-level
// name while it may turn out to be the root's only entry, a folder.
type specFinder struct {
	root     map[string][]byte // spec name → content, at the root
	top      string            // the first top-level name seen
	topIsDir bool
	topFile  bool              // an entry named top is not a folder
	manyTops bool              // a second top-level name was seen
	nested   map[string][]byte // spec name → content, inside top
}

// wants reports whether the regular file at clean path name is a
// candidate whose content the finder needs.
func (f *specFinder) wants(name string) bool {
	dir, base, nested := strings.Cut(name, "/")
	if !nested {
		return isSpecName(dir)
	}
	return !f.manyTops && dir == f.top && isSpecName(base)
}

// see records an entry; regular says it is a regular file, dir a folder.
func (f *specFinder) see(name string, dir bool) {
	first, _, deeper := strings.Cut(name, "/")
	switch {
	case f.top == "":
		f.top = first
	case first != f.top:
		f.manyTops, f.nested = true, nil
		return
	}
	if deeper || dir {
		f.topIsDir = true
	} else {
		f.topFile = true
	}
}

// keep stores a candidate's content (the first one of a name wins).
func (f *specFinder) keep(name string, content []byte) {
	dir, base, nested := strings.Cut(name, "/")
	if !nested {
		if f.root == nil {
			f.root = map[string][]byte{}
		}
		if _, dup := f.root[dir]; !dup {
			f.root[dir] = content
		}
		return
	}
	if f.manyTops || dir != f.top {
		return
	}
	if f.nested == nil {
		f.nested = map[string][]byte{}
	}
	if _, dup := f.nested[base]; !dup {
		f.nested[base] = content
	}
}

func (f *specFinder) result() (string, []byte) {
	for _, n := range SpecNames {
		if c, ok := f.root[n]; ok {
			return n, c
		}
	}
	if f.top != "" && !f.manyTops && f.topIsDir && !f.topFile {
		for _, n := range SpecNames {
			if c, ok := f.nested[n]; ok {
				return f.top + "/" + n, c
			}
		}
	}
	return "", nil
}

func (f *specFinder) looked() string {
	places := append([]string(nil), SpecNames...)
	if f.top != "" && !f.manyTops && f.topIsDir && !f.topFile {
		for _, n := range SpecNames {
			places = append(places, f.top+"/"+n)
		}
	}
	return strings.Join(places, ", ")
}

func isSpecName(n string) bool { return n == SpecNames[0] || n == SpecNames[1] }

// readSpec reads a candidate's content, refusing one over MaxSpecSize.
func readSpec(orig string, r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxSpecSize+1))
	if err != nil {
		return nil, &EntryError{Name: orig, Err: fmt.Errorf("%w: %w", ErrDamaged, err)}
	}
	if len(b) > MaxSpecSize {
		return nil, entryErr(orig, ErrTooLarge, "an AppSpec file may be at most %d bytes", MaxSpecSize)
	}
	return b, nil
}

// damaged wraps an error reading the archive as format f.
func damaged(f Format, err error) error {
	return fmt.Errorf("%w: read as a %s: %w", ErrDamaged, f, err)
}

// errScanBudget ends a tar.gz inspection that reached its byte budget.
var errScanBudget = errors.New("inspection budget reached")

// budgetReader returns errScanBudget once n bytes have been read.
type budgetReader struct {
	r io.Reader
	n int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, errScanBudget
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	return n, err
}

func inspectTarGz(r io.Reader, lim Limits, in *Inspection, f *specFinder) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return damaged(TarGzip, err)
	}
	defer gz.Close()
	budget, _ := lim.MaxUnpacked()
	err = inspectTar(&budgetReader{r: gz, n: budget}, lim, in, f)
	if errors.Is(err, errScanBudget) {
		in.Complete = false
		return nil
	}
	return err
}

func inspectTar(r io.Reader, lim Limits, in *Inspection, f *specFinder) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if errors.Is(err, errScanBudget) {
			return err
		}
		if err != nil && (hdr == nil || !isInsecurePath(err, tar.ErrInsecurePath)) {
			return damaged(Tar, err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		if in.Entries++; in.Entries > lim.MaxEntries {
			return entryErr(hdr.Name, ErrTooManyEntries, "more than %d entries", lim.MaxEntries)
		}
		name, err := cleanName(hdr.Name)
		if err != nil {
			return err
		}
		switch hdr.Typeflag {
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			return entryErr(hdr.Name, ErrUnsupportedType, "device files and fifos are not allowed in a bundle")
		}
		if name == "" {
			continue
		}
		regular := hdr.Typeflag == tar.TypeReg || hdr.Typeflag == '\x00'
		f.see(name, hdr.Typeflag == tar.TypeDir)
		if regular && f.wants(name) {
			b, err := readSpec(hdr.Name, tr)
			if errors.Is(err, errScanBudget) {
				return errScanBudget
			}
			if err != nil {
				return err
			}
			f.keep(name, b)
		}
	}
}

func inspectZip(r io.ReaderAt, size int64, lim Limits, in *Inspection, f *specFinder) error {
	zr, err := openZip(r, size, lim.MaxEntries)
	if err != nil {
		if errors.Is(err, ErrTooManyEntries) {
			return err
		}
		return damaged(Zip, err)
	}
	in.Entries = len(zr.File)
	for _, zf := range zr.File {
		name, isDir, err := zipName(zf)
		if err != nil {
			return err
		}
		mode := zf.Mode()
		if mode&zipUnsupported != 0 {
			return entryErr(zf.Name, ErrUnsupportedType, "%s entries are not allowed in a bundle", mode.Type())
		}
		if name == "" {
			continue
		}
		f.see(name, isDir)
		if !isDir && mode&fs.ModeSymlink == 0 && f.wants(name) {
			rc, err := zf.Open()
			if err != nil {
				return &EntryError{Name: zf.Name, Err: fmt.Errorf("%w: %w", ErrDamaged, err)}
			}
			b, err := readSpec(zf.Name, rc)
			_ = rc.Close()
			if err != nil {
				return err
			}
			f.keep(name, b)
		}
	}
	return nil
}
