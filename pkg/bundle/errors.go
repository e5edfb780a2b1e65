// Package bundle creates and unpacks revision bundles: the archives that
// carry an application revision (its appspec and files) from the server to
// agents.
//
// Create writes a deterministic tar.gz: entries sorted by path, fixed
// times and owners, so the same folder content always gives the same bytes
// and sha256. Unpack reads tar, tar.gz and zip (detected by magic bytes)
// into a target folder, streaming, and refuses anything that could write
// outside the target: absolute names, ".." components, symlinks that point
// outside, entries that go through a symlink, devices and fifos. Limits on
// total size (absolute and relative to the archive's size) and entry count
// stop archive bombs. Permission bits and symlinks are kept; setuid, setgid
// and sticky bits are dropped (an AppSpec permissions entry may set them
// again on the installed copy). UnpackFileStaged leaves nothing behind when
// it refuses an archive. Inspect checks an uploaded archive without
// unpacking it.
package bundle

import (
	"errors"
	"fmt"

	"github.com/slipwayhq/slipway/pkg/bytesize"
)

// Sentinel errors, wrapped by every error this package returns for a
// rejected archive. Test with errors.Is.
var (
	// ErrUnsafePath: an entry name is absolute, has a ".." component, a
	// drive letter or a NUL byte.
	ErrUnsafePath = errors.New("entry path leaves the target folder")
	// ErrUnsafeLink: a symlink or hard link points outside the target.
	ErrUnsafeLink = errors.New("link points outside the target folder")
	// ErrThroughLink: an entry would be written through a symlink
	// created by an earlier entry, or over an existing entry.
	ErrThroughLink = errors.New("entry would be written through a symlink or over another entry")
	// ErrUnsupportedType: a device, fifo or other special entry.
	ErrUnsupportedType = errors.New("unsupported entry type")
	// ErrTooLarge: the unpacked bytes exceed Limits.MaxBytes.
	ErrTooLarge = errors.New("bundle exceeds the size limit")
	// ErrTooManyEntries: the archive holds more than Limits.MaxEntries entries.
	ErrTooManyEntries = errors.New("bundle exceeds the entry count limit")
	// ErrUnknownFormat: the data is neither tar, gzip nor zip.
	ErrUnknownFormat = errors.New("unknown bundle format: expected tar, tar.gz or zip")
)

// EntryError is a problem with one archive entry.
type EntryError struct {
	Name string // the entry name as written in the archive
	Err  error
}

func (e *EntryError) Error() string { return fmt.Sprintf("bundle entry %q: %v", e.Name, e.Err) }

// Unwrap returns the cause, usually one of the sentinels.
func (e *EntryError) Unwrap() error { return e.Err }

// Limits bound what Unpack accepts. A zero field means its default.
//
// The unpacked size is bounded twice: by MaxBytes, an absolute ceiling, and,
// when MaxExpansion is set and the archive's size is known, by MaxExpansion
// times that size (but never below MinExpansionAllowance, so that a small
// bundle of very compressible text is not refused). The lower of the two
// applies. Bytes are counted as they are written, whatever the archive's
// headers declare.
type Limits struct {
	// MaxBytes is the most file content bytes unpacked in total.
	MaxBytes int64
	// MaxEntries is the most archive entries (files, folders, links).
	MaxEntries int
	// MaxExpansion is the most unpacked bytes per byte of archive (0: no
	// such limit). It applies only when ArchiveSize is known.
	MaxExpansion int64
	// ArchiveSize is the archive's size in bytes, compressed. UnpackFile
	// and UnpackZip set it themselves; a caller of UnpackTar or UnpackTarGz
	// who knows it sets it so that MaxExpansion applies.
	ArchiveSize int64
}

// Default limits.
const (
	DefaultMaxBytes   int64 = 8 << 30 // 8 GiB
	DefaultMaxEntries       = 200000
	// MinExpansionAllowance is the unpacked size MaxExpansion always allows.
	MinExpansionAllowance int64 = 64 << 20
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	return l
}

// MaxUnpacked is the most bytes an archive may unpack to under l, and
// whether the expansion limit (rather than MaxBytes) is what sets it.
func (l Limits) MaxUnpacked() (limit int64, byExpansion bool) {
	l = l.withDefaults()
	if l.MaxExpansion <= 0 || l.ArchiveSize <= 0 {
		return l.MaxBytes, false
	}
	allowed := MinExpansionAllowance
	if l.ArchiveSize <= (1<<62)/l.MaxExpansion {
		allowed = max(allowed, l.ArchiveSize*l.MaxExpansion)
	} else {
		allowed = 1 << 62
	}
	if allowed < l.MaxBytes {
		return allowed, true
	}
	return l.MaxBytes, false
}

// SizeError is the cause of an ErrTooLarge refusal for the unpacked size:
// what was allowed and why. It says the sizes, so that an operator can tell
// a bomb from a bundle that needs a higher limit.
type SizeError struct {
	Limit        int64 // the unpacked bytes allowed
	ArchiveSize  int64 // the archive's size (0: unknown)
	MaxExpansion int64 // the expansion limit in force (0: none)
	ByExpansion  bool  // Limit comes from MaxExpansion, not MaxBytes
	MaxBytes     int64 // the absolute ceiling
}

func (e *SizeError) Error() string {
	if e.ByExpansion {
		return fmt.Sprintf("%v: it unpacks to more than %d bytes (%s) from a %d byte archive (%s); the limit is %d times the archive's size, at least %s and at most %s",
			ErrTooLarge, e.Limit, bytesize.Format(e.Limit), e.ArchiveSize, bytesize.Format(e.ArchiveSize), e.MaxExpansion,
			bytesize.Format(MinExpansionAllowance), bytesize.Format(e.MaxBytes))
	}
	return fmt.Sprintf("%v: it unpacks to more than %d bytes in total (%s), the limit", ErrTooLarge, e.Limit, bytesize.Format(e.Limit))
}

// Unwrap makes a SizeError match ErrTooLarge.
func (e *SizeError) Unwrap() error { return ErrTooLarge }
