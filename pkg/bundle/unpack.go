package bundle

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// Every Unpack function writes below dest (created if missing) and returns
// a wrapped sentinel (see errors.go) for a rejected archive. On error dest
// may hold a partial result: use UnpackFileStaged, or unpack into a fresh
// folder and remove it when an error is returned. Nothing is ever written
// outside dest.

// UnpackTar unpacks an uncompressed tar stream into dest.
func UnpackTar(r io.Reader, dest string, lim Limits) (err error) {
	x, err := newExtractor(dest, lim)
	if err != nil {
		return err
	}
	defer func() { x.close(err != nil) }()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && (hdr == nil || !isInsecurePath(err, tar.ErrInsecurePath)) {
			return fmt.Errorf("unpack tar: %w", err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		if err := x.count(hdr.Name); err != nil {
			return fmt.Errorf("unpack tar: %w", err)
		}
		if err := x.tarEntry(hdr, tr); err != nil {
			return fmt.Errorf("unpack tar: %w", err)
		}
	}
	if err := x.finish(); err != nil {
		return fmt.Errorf("unpack tar: %w", err)
	}
	return nil
}

func (x *extractor) tarEntry(hdr *tar.Header, r io.Reader) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "" {
		if hdr.Typeflag == tar.TypeDir {
			return nil
		}
		return entryErr(hdr.Name, ErrUnsafePath, "a non-folder entry names the target folder itself")
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return x.dir(hdr.Name, name, fileMode(hdr.Mode))
	case tar.TypeReg, '\x00':
		return x.file(hdr.Name, name, fileMode(hdr.Mode), r, hdr.Size, hdr.ModTime)
	case tar.TypeSymlink:
		return x.symlink(hdr.Name, name, hdr.Linkname)
	case tar.TypeLink:
		return x.hardlink(hdr.Name, name, hdr.Linkname)
	case tar.TypeChar, tar.TypeBlock:
		return entryErr(hdr.Name, ErrUnsupportedType, "device files are not allowed in a bundle")
	case tar.TypeFifo:
		return entryErr(hdr.Name, ErrUnsupportedType, "fifos are not allowed in a bundle")
	}
	return entryErr(hdr.Name, ErrUnsupportedType, "tar entry type %q is not supported", string(hdr.Typeflag))
}

// UnpackTarGz unpacks a gzip-compressed tar stream into dest.
func UnpackTarGz(r io.Reader, dest string, lim Limits) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("unpack tar.gz: %w", err)
	}
	defer gz.Close()
	return UnpackTar(gz, dest, lim)
}

// UnpackZip unpacks the zip archive of size bytes read from r into dest.
// Backslashes in names are read as separators (some Windows tools write
// them); symlinks are entries with the Unix symlink mode, as zip -y stores.
// The central directory's records are counted against MaxEntries before
// they are loaded. lim.ArchiveSize defaults to size.
func UnpackZip(r io.ReaderAt, size int64, dest string, lim Limits) (err error) {
	if lim.ArchiveSize <= 0 {
		lim.ArchiveSize = size
	}
	zr, err := openZip(r, size, lim.withDefaults().MaxEntries)
	if err != nil {
		return fmt.Errorf("unpack zip: %w", err)
	}
	x, err := newExtractor(dest, lim)
	if err != nil {
		return err
	}
	defer func() { x.close(err != nil) }()
	for _, f := range zr.File {
		if err := x.count(f.Name); err != nil {
			return fmt.Errorf("unpack zip: %w", err)
		}
		if err := x.zipEntry(f); err != nil {
			return fmt.Errorf("unpack zip: %w", err)
		}
	}
	if err := x.finish(); err != nil {
		return fmt.Errorf("unpack zip: %w", err)
	}
	return nil
}

// openZip reads the zip archive of size bytes at r, counting its central
// directory's records against maxEntries (ErrTooManyEntries) before
// archive/zip loads them. Names archive/zip finds insecure are left to
// cleanName (see zipName).
func openZip(r io.ReaderAt, size int64, maxEntries int) (*zip.Reader, error) {
	if err := checkZipEntries(r, size, maxEntries); err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && (zr == nil || !isInsecurePath(err, zip.ErrInsecurePath)) {
		return nil, err
	}
	if len(zr.File) > maxEntries {
		return nil, entryErr(zr.File[maxEntries].Name, ErrTooManyEntries, "more than %d entries", maxEntries)
	}
	return zr, nil
}

// zipName checks a zip entry's name, reading backslashes as separators, and
// returns it clean ("" for the target itself) with whether the entry is a
// folder.
func zipName(f *zip.File) (name string, isDir bool, err error) {
	name, err = cleanName(strings.ReplaceAll(f.Name, `\`, "/"))
	isDir = f.Mode().IsDir() || strings.HasSuffix(f.Name, "/") || strings.HasSuffix(f.Name, `\`)
	return name, isDir, err
}

// zipUnsupported are the zip entry types no bundle may hold.
const zipUnsupported = fs.ModeDevice | fs.ModeCharDevice | fs.ModeNamedPipe | fs.ModeSocket | fs.ModeIrregular

func (x *extractor) zipEntry(f *zip.File) error {
	name, isDir, err := zipName(f)
	if err != nil {
		return err
	}
	mode := f.Mode()
	if name == "" {
		if isDir {
			return nil
		}
		return entryErr(f.Name, ErrUnsafePath, "a non-folder entry names the target folder itself")
	}
	switch {
	case mode&fs.ModeSymlink != 0:
		target, err := readSmall(f, 4096)
		if err != nil {
			return &EntryError{Name: f.Name, Err: err}
		}
		return x.symlink(f.Name, name, target)
	case isDir:
		return x.dir(f.Name, name, mode&keep)
	case mode&zipUnsupported != 0:
		return entryErr(f.Name, ErrUnsupportedType, "%s entries are not allowed in a bundle", mode.Type())
	}
	if f.UncompressedSize64 > uint64(x.max) {
		return x.tooLarge(f.Name)
	}
	declared := int64(f.UncompressedSize64)
	rc, err := f.Open()
	if err != nil {
		return &EntryError{Name: f.Name, Err: err}
	}
	defer rc.Close()
	return x.file(f.Name, name, mode&keep, rc, declared, f.Modified)
}

// keep is what zipEntry passes on of an entry's mode; the extractor then
// drops the special bits.
const keep = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

func readSmall(f *zip.File, max int64) (string, error) {
	rc, err := f.Open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return "", err
	}
	if int64(len(b)) > max {
		return "", fmt.Errorf("symlink target longer than %d bytes", max)
	}
	return string(b), nil
}

// Unpack detects the format of stream r by its magic bytes and unpacks a
// tar or tar.gz into dest. A zip needs random access: use UnpackFile or
// UnpackZip for it (Unpack reports an error naming them).
func Unpack(r io.Reader, dest string, lim Limits) error {
	br := bufio.NewReaderSize(r, HeaderSize)
	head, err := br.Peek(HeaderSize)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("unpack bundle: %w", err)
	}
	switch Detect(head) {
	case Tar:
		return UnpackTar(br, dest, lim)
	case TarGzip:
		return UnpackTarGz(br, dest, lim)
	case Zip:
		return errors.New("unpack bundle: a zip archive needs random access; use UnpackFile or UnpackZip")
	}
	return fmt.Errorf("unpack bundle: %w", ErrUnknownFormat)
}

// UnpackFile unpacks the archive file at path (tar, tar.gz or zip, detected
// by magic bytes, not by name) into dest. lim.ArchiveSize defaults to the
// file's size.
func UnpackFile(path, dest string, lim Limits) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("unpack bundle: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("unpack bundle: %w", err)
	}
	if lim.ArchiveSize <= 0 {
		lim.ArchiveSize = fi.Size()
	}
	format, err := DetectReaderAt(f)
	if err != nil {
		return err
	}
	switch format {
	case Tar:
		return UnpackTar(f, dest, lim)
	case TarGzip:
		return UnpackTarGz(f, dest, lim)
	case Zip:
		return UnpackZip(f, fi.Size(), dest, lim)
	}
	return fmt.Errorf("unpack bundle %s: %w", path, ErrUnknownFormat)
}
