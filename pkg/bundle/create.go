package bundle

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Epoch is the modification time written for every entry by Create.
var Epoch = time.Unix(0, 0).UTC()

// Info describes a created bundle.
type Info struct {
	SHA256  string // hex digest of the bytes written
	Size    int64  // bytes written
	Entries int    // archive entries (folders, files, symlinks)
}

// Create writes folder dir to w as a deterministic tar.gz and returns its
// digest. Entries are sorted by slash path; every entry has the same time
// (Epoch), uid/gid 0 and no user or group names; folders, regular files
// (permission, setuid, setgid and sticky bits kept) and symlinks (target
// kept verbatim) are stored; anything else is an error. dir itself is not
// an entry. Files are streamed, never held in memory. The same content
// always gives the same bytes.
func Create(w io.Writer, dir string) (Info, error) {
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h)}
	gz, err := gzip.NewWriterLevel(cw, gzip.BestCompression)
	if err != nil {
		return Info{}, fmt.Errorf("create bundle: %w", err)
	}
	tw := tar.NewWriter(gz)
	n, err := addTree(tw, dir)
	if err != nil {
		return Info{}, fmt.Errorf("create bundle from %s: %w", dir, err)
	}
	if err := tw.Close(); err != nil {
		return Info{}, fmt.Errorf("create bundle: %w", err)
	}
	if err := gz.Close(); err != nil {
		return Info{}, fmt.Errorf("create bundle: %w", err)
	}
	return Info{SHA256: hex.EncodeToString(h.Sum(nil)), Size: cw.n, Entries: n}, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// addTree writes the entries below dir in sorted slash-path order.
func addTree(tw *tar.Writer, dir string) (int, error) {
	var rels []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel != "." {
			rels = append(rels, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	// WalkDir orders by name within a folder; a global sort by slash path
	// makes the order independent of the walk.
	sort.Strings(rels)
	for _, rel := range rels {
		if err := addEntry(tw, dir, rel); err != nil {
			return 0, err
		}
	}
	return len(rels), nil
}

func addEntry(tw *tar.Writer, dir, rel string) error {
	full := filepath.Join(dir, filepath.FromSlash(rel))
	fi, err := os.Lstat(full)
	if err != nil {
		return err
	}
	hdr := &tar.Header{
		Name:    rel,
		Mode:    tarMode(fi.Mode()),
		ModTime: Epoch,
		Format:  tar.FormatPAX,
	}
	switch m := fi.Mode(); {
	case m.IsDir():
		hdr.Typeflag, hdr.Name = tar.TypeDir, rel+"/"
	case m.IsRegular():
		hdr.Typeflag, hdr.Size = tar.TypeReg, fi.Size()
	case m&fs.ModeSymlink != 0:
		target, err := os.Readlink(full)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, filepath.ToSlash(target), 0o777
	default:
		return fmt.Errorf("%s: %w (%s)", rel, ErrUnsupportedType, m.Type())
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil
	}
	f, err := os.Open(full)
	if err != nil {
		return err
	}
	defer f.Close()
	// CopyN fails loudly if the file changed size while being archived.
	if _, err := io.CopyN(tw, f, hdr.Size); err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	return nil
}

// tarMode converts permission and special bits to the tar mode field.
func tarMode(m fs.FileMode) int64 {
	v := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		v |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		v |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		v |= 0o1000
	}
	return v
}

// fileMode is the inverse of tarMode.
func fileMode(v int64) fs.FileMode {
	m := fs.FileMode(v & 0o777)
	if v&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if v&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if v&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}
