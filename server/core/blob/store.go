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
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/slipwayhq/slipway/pkg/bytesize"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Store is one server's blob files: DIR/sha256/ab/<hash> for blobs and DIR/tmp for uploads and
// transfers in progress. Every file it writes, temporary ones included, is encrypted from its
// first byte (see crypt.go), and it accepts no unencrypted file from a peer. The only plaintext
// it holds is blob files written before encryption at rest, until they are encrypted in place
// (on first read, first send to a peer, or by the re-encryption job); a partial fetch left by
// such a release is removed when the store opens.
type Store struct {
	dir     string
	reserve int64 // bytes writes leave free on dir's file system; 0: no check
	keys    Keys
	// plain stores plaintext files. Only the benchmark's baseline sets it (openStore), to
	// measure what encryption costs; no configuration reaches it.
	plain bool

	mu        sync.Mutex
	rewriting map[string]chan struct{} // blobs being rewritten, closed when done: one at a time per blob
	// pathMu is held while a blob's path is checked and then placed, removed or replaced, so a
	// rewrite never replaces or removes a file that appeared after it opened the old one.
	pathMu sync.Mutex
}

// OpenStore opens (creating) a store whose writes leave reserve bytes free on the file system
// (0: no check) and encrypt under keys. Temporary files left by a crash are removed.
func OpenStore(dir string, reserve int64, keys Keys) (*Store, error) {
	if keys == nil {
		return nil, errors.New("blob store: no keyring: blobs are always encrypted at rest")
	}
	return openStore(dir, reserve, keys, false)
}

func openStore(dir string, reserve int64, keys Keys, plain bool) (*Store, error) {
	s := &Store{dir: dir, reserve: reserve, keys: keys, plain: plain, rewriting: map[string]chan struct{}{}}
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
		p := filepath.Join(s.tmpDir(), e.Name())
		// Partial fetches are kept to resume, unless they lack a header: those cannot resume,
		// and one left by a release before encryption at rest holds plaintext.
		if !strings.HasSuffix(e.Name(), ".part") || (!plain && !hasHeader(p)) {
			_ = os.Remove(p)
		}
	}
	return s, nil
}

// hasHeader reports whether the file at p starts with an encrypted blob file's header.
func hasHeader(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }()
	return fileID(f) != ""
}

func (s *Store) tmpDir() string { return filepath.Join(s.dir, "tmp") }

// ValidSHA reports whether h is a lowercase hex sha256 (state.ValidSHA, which apply uses too).
func ValidSHA(h string) bool { return state.ValidSHA(h) }

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

// Reader reads a blob's plaintext.
type Reader interface {
	io.ReadSeekCloser
	io.ReaderAt
	// Size is the plaintext size.
	Size() int64
}

// Open opens a blob's plaintext for reading: it decrypts only the chunks a read covers, and
// refuses a file that is damaged, renamed or under a key this server cannot unwrap. A file
// written before encryption at rest is encrypted in place first, once its content matches its
// address.
func (s *Store) Open(sha string) (Reader, error) {
	if !ValidSHA(sha) {
		return nil, fault.New(fault.Invalid, "%q is not a sha256", sha)
	}
	if s.plain {
		f, err := os.Open(s.Path(sha))
		if err != nil {
			return nil, err
		}
		st, err := f.Stat()
		if err != nil {
			_ = f.Close()
			return nil, err
		}
		return plainFile{f, st.Size()}, nil
	}
	f, err := openFile(s.Path(sha), sha, s.keys)
	if errors.Is(err, errNotEncrypted) {
		if err := s.rewrite(sha, nil); err != nil && !errors.Is(err, errFileChanged) {
			return nil, err
		}
		f, err = openFile(s.Path(sha), sha, s.keys)
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

type plainFile struct {
	*os.File
	size int64
}

func (p plainFile) Size() int64 { return p.size }

// openRaw opens a blob's file as it is on disk (ciphertext), for transfers between servers.
func (s *Store) openRaw(sha string) (*os.File, error) {
	if !ValidSHA(sha) {
		return nil, fault.New(fault.Invalid, "%q is not a sha256", sha)
	}
	return os.Open(s.Path(sha))
}

// openSendable opens a blob's file for sending to a peer, with its fileID: always ciphertext. A
// file written before encryption at rest is encrypted in place first (once its content matches
// its address), so no plaintext leaves this server.
func (s *Store) openSendable(sha string) (*os.File, string, error) {
	f, err := s.openRaw(sha)
	if err != nil || s.plain {
		return f, "", err
	}
	if id := fileID(f); id != "" {
		return f, id, nil
	}
	_ = f.Close()
	if err := s.rewrite(sha, nil); err != nil && !errors.Is(err, errFileChanged) {
		return nil, "", err
	}
	if f, err = s.openRaw(sha); err != nil {
		return nil, "", err
	}
	id := fileID(f)
	if id == "" {
		_ = f.Close()
		return nil, "", fmt.Errorf("blob %s: the file on this server is not encrypted and could not be encrypted; it is not sent", sha)
	}
	return f, id, nil
}

// fileID names one encryption of a blob (a hash of its file's header, which holds the file's
// random salt): two servers' files of the same blob differ, so a resumed transfer must come from
// the same file it started from. "" for a file without a header.
func fileID(f io.ReaderAt) string {
	h, err := readHeader(io.NewSectionReader(f, 0, maxHeaderLen))
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(h.raw)
	return hex.EncodeToString(sum[:16])
}

// KeyID returns the data key blob sha's file is written under; errNotEncrypted for a file
// written before encryption at rest.
func (s *Store) KeyID(sha string) (string, error) {
	f, err := s.openRaw(sha)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	h, err := readHeader(bufio.NewReaderSize(f, maxHeaderLen))
	return h.keyID, err
}

// Remove deletes a blob's file; a missing one is not an error.
func (s *Store) Remove(sha string) error {
	if !ValidSHA(sha) {
		return nil
	}
	s.pathMu.Lock()
	err := os.Remove(s.Path(sha))
	s.pathMu.Unlock()
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
	f, err := s.createTemp("upload-*", "upload file")
	if err != nil {
		return "", 0, err
	}
	defer f.discard()
	h := sha256.New()
	src := r
	if limit >= 0 {
		src = io.LimitReader(r, limit+1)
	}
	dst := s.guard(f.File)
	var enc *encWriter
	if !s.plain {
		if enc, err = newEncWriter(dst, s.keys); err != nil {
			return "", 0, err
		}
		dst = enc
	}
	n, err := io.CopyBuffer(io.MultiWriter(dst, h), src, make([]byte, 256<<10))
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
	if enc != nil {
		if err := enc.Finish(h.Sum(nil)); err != nil {
			return "", n, storageErr("receive", err)
		}
	}
	if verify != nil { // the upload check hook (see Verifier); the deferred cleanup removes tmp
		if err := s.verifyUpload(f.Name(), f.File, sum, n, verify); err != nil {
			return "", n, err
		}
	}
	if err := s.placeTemp(f, sum); err != nil {
		return "", n, err
	}
	return sum, n, nil
}

// tempFile is a file being written in the store's tmp folder, to be renamed into place once
// complete. Its writer defers discard, which removes it unless it was kept (placed).
type tempFile struct {
	*os.File
	kept bool
}

// createTemp creates a file in the tmp folder (pattern as for os.CreateTemp); what names it in
// the error.
func (s *Store) createTemp(pattern, what string) (*tempFile, error) {
	f, err := os.CreateTemp(s.tmpDir(), pattern)
	if err != nil {
		return nil, storageErr("create "+what, err)
	}
	return &tempFile{File: f}, nil
}

// discard closes and removes the file, unless it was kept.
func (t *tempFile) discard() {
	if !t.kept {
		_ = t.Close()
		_ = os.Remove(t.Name())
	}
}

// finish fsyncs and closes the file, so that renaming it into place is durable.
func (t *tempFile) finish() error {
	if err := t.Sync(); err != nil {
		return storageErr("sync", err)
	}
	if err := t.Close(); err != nil {
		return storageErr("close", err)
	}
	return nil
}

// placeTemp finishes t and places it as blob sha (see place), keeping it.
func (s *Store) placeTemp(t *tempFile, sha string) error {
	if err := t.finish(); err != nil {
		return err
	}
	if err := s.place(t.Name(), sha); err != nil {
		return err
	}
	t.kept = true
	return nil
}

// verifyUpload runs an upload check over the received plaintext: the temporary file itself in a
// plaintext store, else a decrypting view of it (authenticated chunk by chunk, as Open reads).
func (s *Store) verifyUpload(tmp string, f *os.File, sum string, n int64, verify Verifier) error {
	if s.plain {
		return verify(f, n)
	}
	bf, err := openFile(tmp, sum, s.keys)
	if err != nil {
		return storageErr("read back the upload", err)
	}
	defer func() { _ = bf.Close() }()
	return verify(bf, n)
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
	s.pathMu.Lock()
	if _, err := os.Stat(dst); err == nil {
		s.pathMu.Unlock()
		return os.Remove(tmp) // same content already here
	}
	err := os.Rename(tmp, dst)
	s.pathMu.Unlock()
	if err != nil {
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

// adoptPart verifies a fetched file (its ciphertext decrypts and authenticates, and its plaintext
// is size bytes hashing to sha) and places it; a file with the wrong content is removed so the
// next fetch starts over.
func (s *Store) adoptPart(part, sha string, size int64) error {
	f, err := os.Open(part)
	if err != nil {
		return err
	}
	n, got, err := s.verify(f, sha)
	_ = f.Close()
	if err != nil && !errors.Is(err, errDiscard) {
		return err
	}
	if err != nil || got != sha || n != size {
		_ = os.Remove(part)
		if err != nil {
			return fmt.Errorf("fetched blob %s discarded: %w", sha, err)
		}
		return fmt.Errorf("fetched blob %s has sha256 %s and %d bytes; discarded", sha, got, n)
	}
	return s.place(part, sha)
}

// errDiscard marks content that failed verification (as opposed to a failed read).
var errDiscard = errors.New("content does not verify")

// verify reads a blob file and returns its plaintext size and sha256.
func (s *Store) verify(f *os.File, sha string) (int64, string, error) {
	if s.plain {
		h := sha256.New()
		n, err := io.CopyBuffer(h, f, make([]byte, 256<<10))
		return n, hex.EncodeToString(h.Sum(nil)), err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, "", err
	}
	v, err := newVerifyWriter(s.keys, sha, st.Size())
	if err != nil {
		return 0, "", err
	}
	if _, err := io.CopyBuffer(v, f, make([]byte, 256<<10)); err != nil {
		var ke *keyError
		if errors.As(err, &ke) {
			return 0, "", ke.err // this server's keyring, not the file, is at fault
		}
		return 0, "", fmt.Errorf("%w: %w", errDiscard, err)
	}
	n, err := v.Finish()
	if err != nil {
		return 0, "", fmt.Errorf("%w: %w", errDiscard, err)
	}
	return n, sha, nil
}

// writeCiphertext stores a blob file received from a peer: length bytes of r, in this store's
// file format, verified while they arrive (every chunk authenticates, the plaintext hashes to
// sha) before the file is fsynced and placed. On failure nothing is left behind.
func (s *Store) writeCiphertext(r io.Reader, sha string, length int64) error {
	if s.plain {
		_, _, err := s.Write(r, sha, length, -1)
		return err
	}
	if err := s.room(length); err != nil {
		return err
	}
	v, err := newVerifyWriter(s.keys, sha, length)
	if err != nil {
		return err
	}
	f, err := s.createTemp("peer-*", "transfer file")
	if err != nil {
		return err
	}
	defer f.discard()
	// The header's fixed part is checked before any byte reaches the disk: an unencrypted file
	// is refused, not staged.
	prefix := make([]byte, 6)
	if _, err := io.ReadFull(r, prefix); err != nil {
		return fmt.Errorf("blob %s from the peer: the transfer ended in the header: %w", sha, err)
	}
	if err := checkPrefix(prefix); err != nil {
		return fmt.Errorf("blob %s from the peer: %w; refused", sha, err)
	}
	r = io.MultiReader(bytes.NewReader(prefix), r)
	if _, err := io.CopyBuffer(io.MultiWriter(v, s.guard(f.File)), io.LimitReader(r, length), make([]byte, 256<<10)); err != nil {
		return storageErr("receive", err)
	}
	if _, err := v.Finish(); err != nil {
		return err
	}
	return s.placeTemp(f, sha)
}

// errFileChanged: the file a rewrite opened was replaced or removed before the rewrite finished
// (by an upload, a repair or collection). The rewrite then leaves the path alone; the caller
// opens whatever is there now.
var errFileChanged = errors.New("the blob file was replaced or removed while it was being rewritten; left as it is now")

// lockRewrite waits until no other rewrite of blob sha runs, and returns the unlock.
func (s *Store) lockRewrite(sha string) func() {
	for {
		s.mu.Lock()
		busy, ok := s.rewriting[sha]
		if !ok {
			done := make(chan struct{})
			s.rewriting[sha] = done
			s.mu.Unlock()
			return func() {
				s.mu.Lock()
				delete(s.rewriting, sha)
				s.mu.Unlock()
				close(done)
			}
		}
		s.mu.Unlock()
		<-busy
	}
}

// stillAt reports whether path is still the file open as f.
func stillAt(path string, f *os.File) bool {
	a, err := os.Stat(path)
	if err != nil {
		return false
	}
	b, err := f.Stat()
	return err == nil && os.SameFile(a, b)
}

// rewrite re-encrypts blob sha's file under the active data key: it writes a new file, fsyncs it
// and renames it over the old one, so a crash leaves either file, never a mix. A file written
// before encryption at rest is encrypted if its content hashes to sha, and removed otherwise.
// Rewrites of one blob run one at a time, and a file already under the active key (rewritten by
// the one waited for) is left alone. The path is removed or replaced only while it still is the
// file opened; otherwise the new file is dropped and errFileChanged returned. pace, when set, is
// called with the bytes written so far, to bound the rate; an error from it abandons the rewrite.
func (s *Store) rewrite(sha string, pace func(int64) error) error {
	if s.plain {
		return nil
	}
	defer s.lockRewrite(sha)()
	raw, err := s.openRaw(sha)
	if err != nil {
		return err
	}
	defer func() { _ = raw.Close() }()
	var src io.Reader
	sum, _ := hex.DecodeString(sha)
	h := sha256.New()
	legacy := false
	if bf, err := newFile(raw, sha, s.keys); err == nil {
		if bf.keyID == s.keys.ActiveID() {
			return nil
		}
		src = io.NewSectionReader(bf, 0, bf.Size())
	} else if errors.Is(err, errNotEncrypted) {
		legacy = true
		if _, err := raw.Seek(0, io.SeekStart); err != nil {
			return err
		}
		src = io.TeeReader(raw, h)
	} else {
		return err
	}
	st, err := raw.Stat()
	if err != nil {
		return err
	}
	if err := s.room(st.Size()); err != nil {
		return err
	}
	f, err := s.createTemp("rekey-*", "re-encryption file")
	if err != nil {
		return err
	}
	defer f.discard()
	enc, err := newEncWriter(s.guard(f.File), s.keys)
	if err != nil {
		return err
	}
	buf := make([]byte, 256<<10)
	var done int64
	for {
		n, rerr := io.ReadFull(src, buf)
		if n > 0 {
			if _, err := enc.Write(buf[:n]); err != nil {
				return storageErr("re-encrypt", err)
			}
			done += int64(n)
			if pace != nil {
				if err := pace(done); err != nil {
					return err
				}
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if legacy {
		if got := hex.EncodeToString(h.Sum(nil)); got != sha {
			s.pathMu.Lock()
			defer s.pathMu.Unlock()
			if !stillAt(s.Path(sha), raw) {
				return errFileChanged
			}
			_ = os.Remove(s.Path(sha))
			return fmt.Errorf("blob %s: the unencrypted file found for it has sha256 %s, so it was removed; the repair loop fetches a good copy from a peer", sha, got)
		}
	}
	if err := enc.Finish(sum); err != nil {
		return storageErr("re-encrypt", err)
	}
	if err := f.finish(); err != nil {
		return err
	}
	s.pathMu.Lock()
	if !stillAt(s.Path(sha), raw) {
		s.pathMu.Unlock()
		return errFileChanged
	}
	err = os.Rename(f.Name(), s.Path(sha))
	s.pathMu.Unlock()
	if err != nil {
		return storageErr("replace blob file", err)
	}
	f.kept = true
	return syncDir(filepath.Dir(s.Path(sha)))
}
