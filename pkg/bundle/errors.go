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
// total size and entry count stop archive bombs. Modes and symlinks are
// kept.
package bundle

import (
	"errors"
	"fmt"
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
type Limits struct {
	// MaxBytes is the most file content bytes unpacked in total.
	MaxBytes int64
	// MaxEntries is the most archive entries (files, folders, links).
	MaxEntries int
}

// Default limits.
const (
	DefaultMaxBytes   int64 = 8 << 30 // 8 GiB
	DefaultMaxEntries       = 200000
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
