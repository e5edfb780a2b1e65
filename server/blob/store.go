// Package blob is the replicated, content-addressed blob store. Bundles now, build artifacts,
// logs and git packs later: anything large is a blob named by its sha256, kept by every server
// under DATA/blobs, and recorded in the replicated state by a small Raft command. Blob bytes never
// go through the Raft log.
//
// Upload: the receiving server streams the bytes to a temporary file while hashing, fsyncs and
// renames it into place, pushes it to its peers until a quorum of voters (itself included) holds
// it durably, and only then proposes blob.register. The upload is acknowledged after that command
// commits. Anything that fails before leaves no record, and its files are removed (at once, or
// by the sweep after the grace period).
//
// Convergence: every server runs a repair loop that fetches any registered blob it lacks from a
// peer, resuming partial transfers; a server that was down, wiped or new catches up by itself.
// A server asked for a blob it lacks fetches it first.
//
// Collection: the leader deletes blob records nothing references once they are older than the
// grace period; each server then removes files that no record names.
package blob

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/slipwayhq/slipway/pkg/bytesize"
	"github.com/slipwayhq/slipway/server/fault"
)

// Store is one server's blob files: DIR/sha256/ab/<hash> for blobs and DIR/tmp for uploads and
// transfers in progress.
type Store struct {
	dir     string
	reserve int64 // bytes writes leave free on dir's file system; 0: no check
}

// OpenStore opens (creating) a store whose writes leave reserve bytes free on the file system
// (0: no check). Temporary files left by a crash are removed.
func OpenStore(dir string, reserve int64) (*Store, error) {
	s := &Store{dir: dir, reserve: reserve}
	for _, d := range []string{s.tmpDir(), filepath.Join(dir, "sha256")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("blob store: %w", err)
		}
	}
	entries, err := os.ReadDir(s.tmpDir())
	if err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".part") { // partial fetches are kept to resume
			_ = os.Remove(filepath.Join(s.tmpDir(), e.Name()))
		}
	}
	return s, nil
}

func (s *Store) tmpDir() string { return filepath.Join(s.dir, "tmp") }

// ValidSHA reports whether h is a lowercase hex sha256.
func ValidSHA(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Path returns where blob sha lives. sha must be valid.
func (s *Store) Path(sha string) string {
	return filepath.Join(s.dir, "sha256", sha[:2], sha)
}

// Has reports whether the blob's file is present.
func (s *Store) Has(sha string) bool {
	if !ValidSHA(sha) {
		return false
	}
	_, err := os.Stat(s.Path(sha))
	return err == nil
}

// Open opens a blob for reading.
func (s *Store) Open(sha string) (*os.File, error) {
	if !ValidSHA(sha) {
		return nil, fault.New(fault.Invalid, "%q is not a sha256", sha)
	}
	return os.Open(s.Path(sha))
}

// Remove deletes a blob's file; a missing one is not an error.
func (s *Store) Remove(sha string) error {
	if !ValidSHA(sha) {
		return nil
	}
	err := os.Remove(s.Path(sha))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Write streams r into the store and returns its sha256 and size. At most limit bytes are
// accepted (limit < 0: no limit). A non-empty wantSHA must match, and wantSize >= 0 too; on any
// failure nothing is left behind. The file is fsynced and renamed into place before Write
// returns, so a returned blob survives a crash.
func (s *Store) Write(r io.Reader, wantSHA string, wantSize, limit int64) (string, int64, error) {
	return s.WriteVerified(r, wantSHA, wantSize, limit, nil)
}

// WriteVerified is Write with a content check: verify (nil: none) sees the received bytes once
// they are complete and their hash and size checked, before the file is placed; its error is
// returned as is and nothing is stored.
func (s *Store) WriteVerified(r io.Reader, wantSHA string, wantSize, limit int64, verify Verifier) (string, int64, error) {
	if err := s.room(max(wantSize, 0)); err != nil {
		return "", 0, err
	}
	f, err := os.CreateTemp(s.tmpDir(), "upload-*")
	if err != nil {
		return "", 0, storageErr("create upload file", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	h := sha256.New()
	src := r
	if limit >= 0 {
		src = io.LimitReader(r, limit+1)
	}
	n, err := io.CopyBuffer(io.MultiWriter(s.guard(f), h), src, make([]byte, 256<<10))
	if err != nil {
		return "", n, storageErr("receive", err)
	}
	if limit >= 0 && n > limit {
		return "", n, fault.New(fault.TooLarge, "the upload is over the %d byte limit (%s); nothing was stored", limit, bytesize.Format(limit))
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if wantSHA != "" && wantSHA != sum {
		return "", n, fault.New(fault.Invalid, "the content's sha256 is %s, but %s was declared: the upload was damaged or the hash is wrong; nothing was stored", sum, wantSHA)
	}
	if wantSize >= 0 && wantSize != n {
		return "", n, fault.New(fault.Invalid, "received %d bytes, but %d were declared; nothing was stored", n, wantSize)
	}
	if verify != nil { // the upload check hook (see Verifier); the deferred cleanup removes tmp
		if err := verify(f, n); err != nil {
			return "", n, err
		}
	}
	if err := f.Sync(); err != nil {
		return "", n, storageErr("sync", err)
	}
	if err := f.Close(); err != nil {
		return "", n, storageErr("close", err)
	}
	if err := s.place(tmp, sum); err != nil {
		return "", n, err
	}
	ok = true
	return sum, n, nil
}

// roomCheckEvery is how many bytes a guarded writer writes between two free-space checks.
const roomCheckEvery = 1 << 20

// room fails with insufficient_storage unless need more bytes can be written while the file
// system keeps the reserve free. The Raft log, snapshots and state share the disk: were blobs to
// take its last bytes, the next log append would fail and the server could no longer follow the
// cluster. Where free space cannot be read (an OS without statfs), room does not refuse.
func (s *Store) room(need int64) error {
	if s.reserve <= 0 {
		return nil
	}
	free, ok := freeBytes(s.dir)
	if !ok || free-need >= s.reserve {
		return nil
	}
	return fault.New(fault.NoSpace,
		"blob store: this server has %s free on its data disk and keeps %s of it for the Raft log and state (blobs.reserve); %s more do not fit; nothing was stored: free space on it and retry",
		bytesize.Format(max(free, 0)), bytesize.Format(s.reserve), bytesize.Format(need))
}

// guard returns a writer to w that checks the reserve every roomCheckEvery bytes, so that a
// transfer of unknown size, or a disk that other writers fill meanwhile, stops at the reserve.
func (s *Store) guard(w io.Writer) io.Writer {
	if s.reserve <= 0 {
		return w
	}
	return &roomWriter{w: w, s: s, unchecked: roomCheckEvery}
}

type roomWriter struct {
	w         io.Writer
	s         *Store
	unchecked int64
}

func (g *roomWriter) Write(p []byte) (int, error) {
	g.unchecked += int64(len(p))
	if g.unchecked >= roomCheckEvery {
		g.unchecked = 0
		if err := g.s.room(roomCheckEvery); err != nil {
			return 0, err
		}
	}
	return g.w.Write(p)
}

// place moves a complete, synced temporary file to its content address.
func (s *Store) place(tmp, sha string) error {
	dst := s.Path(sha)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return storageErr("create blob folder", err)
	}
	if _, err := os.Stat(dst); err == nil {
		return os.Remove(tmp) // same content already here
	}
	if err := os.Rename(tmp, dst); err != nil {
		return storageErr("store blob", err)
	}
	return syncDir(filepath.Dir(dst))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return storageErr("sync folder", err)
	}
	defer func() { _ = d.Close() }()
	if err := d.Sync(); err != nil {
		return storageErr("sync folder", err)
	}
	return nil
}

// storageErr turns a disk error into a fault; a full disk gets its own code.
func storageErr(what string, err error) error {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return err
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fault.New(fault.NoSpace, "blob store: %s: this server's disk is full; nothing was stored: free space on it and retry", what)
	}
	return fmt.Errorf("blob store: %s: %w", what, err)
}

// Local is one blob file on this server.
type Local struct {
	SHA256  string
	ModTime time.Time
}

// List returns every complete blob file in the store.
func (s *Store) List() ([]Local, error) {
	var out []Local
	root := filepath.Join(s.dir, "sha256")
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !ValidSHA(d.Name()) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil //nolint:nilerr // removed while walking
		}
		out = append(out, Local{SHA256: d.Name(), ModTime: info.ModTime()})
		return nil
	})
	return out, err
}

// SweepTmp removes temporary files not touched for longer than age (abandoned transfers).
func (s *Store) SweepTmp(age time.Duration) {
	entries, _ := os.ReadDir(s.tmpDir())
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > age {
			_ = os.Remove(filepath.Join(s.tmpDir(), e.Name()))
		}
	}
}

func (s *Store) partPath(sha string) string { return filepath.Join(s.tmpDir(), sha+".part") }

// adoptPart verifies a fetched file and places it; a file with the wrong content is removed so
// the next fetch starts over.
func (s *Store) adoptPart(part, sha string, size int64) error {
	f, err := os.Open(part)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.CopyBuffer(h, f, make([]byte, 256<<10))
	_ = f.Close()
	if err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha || n != size {
		_ = os.Remove(part)
		return fmt.Errorf("fetched blob %s has sha256 %s and %d bytes; discarded", sha, got, n)
	}
	return s.place(part, sha)
}
