package blob

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/slipwayhq/slipway/server/core/fault"
)

// Encrypted blob files (format version 1).
//
// A blob file holds its plaintext in chunks of chunkSize bytes, each sealed on its own with
// AES-256-GCM, so any byte range can be read by decrypting only the chunks it covers (Range
// requests, resumed downloads) and a damaged or altered chunk is detected when read:
//
//	header: "SLWB" | version (1 byte) | key id length n (1 byte) | key id (n bytes) | salt (32 bytes)
//	chunks: ciphertext of chunk i (chunkSize bytes, the last one 0..chunkSize) | 16-byte tag
//
// The chunk key is HKDF-SHA256(data key, salt, info = the whole header): every file has its
// own key (a fresh random salt per file), so nonces can simply count chunks (nonce = big-endian
// chunk index, 8 bytes, then 4 zero bytes) without any risk of reuse, and altering any header
// byte (key id, salt, version) makes every chunk fail. The additional data of chunk i is the
// chunk index and a last-chunk flag; the last chunk's also holds the blob's sha256 (known only
// once an upload has been read, which is when the last chunk is sealed). So: reordered chunks
// fail (index), a truncated file fails (its new last chunk was not sealed as last), chunks moved
// between files fail (another file key), and a file renamed to another blob's address fails (the
// sha256 of the last chunk), which the reader checks when it opens the file. The content address
// stays the sha256 of the plaintext, so ETags, dedup and hash checks are unchanged.
//
// Plaintext size = body - 16 × chunks, where body is the file size less the header and chunks is
// ceil(body / (chunkSize+16)); an empty blob is one empty sealed chunk.
const (
	chunkSize     = 64 << 10
	tagSize       = 16
	encChunkSize  = chunkSize + tagSize
	saltSize      = 32
	formatVersion = 1
	maxKeyIDLen   = 64
	maxHeaderLen  = 4 + 1 + 1 + maxKeyIDLen + saltSize
)

var magic = []byte("SLWB")

// Keys is what the blob store needs from the cluster keyring: the key new files are written
// under, and any key a file names.
type Keys interface {
	// Active returns the key new files are written under (waiting a bounded time while the
	// cluster has none yet).
	Active() (id string, key []byte, err error)
	// ActiveID names the active key at once, "" while there is none.
	ActiveID() string
	Key(id string) ([]byte, error)
}

// errNotEncrypted marks a file without the encrypted header: one written before encryption at
// rest, which the re-encryption job converts once its content matches its address.
var errNotEncrypted = errors.New("not an encrypted blob file")

type header struct {
	raw   []byte
	keyID string
}

func newHeader(keyID string) (header, error) {
	if keyID == "" || len(keyID) > maxKeyIDLen {
		return header{}, fmt.Errorf("data key id %q is not 1-%d bytes", keyID, maxKeyIDLen)
	}
	raw := make([]byte, 0, 6+len(keyID)+saltSize)
	raw = append(raw, magic...)
	raw = append(raw, formatVersion, byte(len(keyID)))
	raw = append(raw, keyID...)
	salt := make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		return header{}, err
	}
	return header{raw: append(raw, salt...), keyID: keyID}, nil
}

// readHeader reads and parses a file's header from r.
func readHeader(r io.Reader) (header, error) {
	fixed := make([]byte, 6)
	if _, err := io.ReadFull(r, fixed); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return header{}, errNotEncrypted
		}
		return header{}, err
	}
	if err := checkPrefix(fixed); err != nil {
		return header{}, err
	}
	n := int(fixed[5])
	rest := make([]byte, n+saltSize)
	if _, err := io.ReadFull(r, rest); err != nil {
		return header{}, fmt.Errorf("blob file header is truncated: %w", err)
	}
	return header{raw: append(fixed, rest...), keyID: string(rest[:n])}, nil
}

// checkPrefix checks a header's first 6 bytes: magic, version and key id length.
func checkPrefix(fixed []byte) error {
	if !bytes.Equal(fixed[:4], magic) {
		return errNotEncrypted
	}
	if fixed[4] != formatVersion {
		return fmt.Errorf("blob file format version %d is not known to this server (it reads version %d): upgrade it", fixed[4], formatVersion)
	}
	if n := int(fixed[5]); n == 0 || n > maxKeyIDLen {
		return fmt.Errorf("blob file header names a key id of %d bytes", n)
	}
	return nil
}

// fileAEAD derives the file's chunk key from its data key and header.
func fileAEAD(dataKey []byte, h header) (cipher.AEAD, error) {
	salt := h.raw[len(h.raw)-saltSize:]
	k, err := hkdf.Key(sha256.New, dataKey, salt, "slipway blob chunk key v1\x00"+string(h.raw), 32)
	if err != nil {
		return nil, err
	}
	b, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func chunkNonce(nonce *[12]byte, i int64) []byte {
	binary.BigEndian.PutUint64(nonce[:8], uint64(i))
	return nonce[:]
}

// chunkAD is the additional data of chunk i; sum (the raw sha256) only for the last chunk.
func chunkAD(ad []byte, i int64, last bool, sum []byte) []byte {
	ad = binary.BigEndian.AppendUint64(ad[:0], uint64(i))
	if last {
		ad = append(ad, 1)
		return append(ad, sum...)
	}
	return append(ad, 0)
}

// plainSize returns the plaintext size and chunk count of a file of fileSize bytes with a header
// of hdrLen bytes; ok is false for a length no file of this format has.
func plainSize(fileSize, hdrLen int64) (size, chunks int64, ok bool) {
	body := fileSize - hdrLen
	if body < tagSize {
		return 0, 0, false
	}
	chunks = (body + encChunkSize - 1) / encChunkSize
	if rem := body % encChunkSize; rem != 0 && rem < tagSize {
		return 0, 0, false
	}
	return body - chunks*tagSize, chunks, true
}

// chunkOpener authenticates and decrypts the chunks of one file: what File (reading a stored
// file) and verifyWriter (checking one as it arrives) share.
type chunkOpener struct {
	aead   cipher.AEAD
	sum    []byte // the blob's raw sha256, which the last chunk is bound to
	size   int64  // plaintext size
	chunks int64
	plain  []byte // plaintext of the chunk opened last
	ad     []byte
	nonce  [12]byte
}

// encLen is the ciphertext length of chunk i.
func (c *chunkOpener) encLen(i int64) int64 {
	if i == c.chunks-1 {
		return c.size - i*chunkSize + tagSize
	}
	return encChunkSize
}

// open authenticates and decrypts ct, the ciphertext of chunk i, into c.plain.
func (c *chunkOpener) open(i int64, ct []byte) ([]byte, error) {
	last := i == c.chunks-1
	var sum []byte
	if last {
		sum = c.sum
	}
	p, err := c.aead.Open(c.plain[:0], chunkNonce(&c.nonce, i), ct, chunkAD(c.ad, i, last, sum))
	if err == nil {
		c.plain = p
	}
	return p, err
}

// encWriter encrypts a stream of plaintext into the file format. A full chunk is sealed only
// once more bytes arrive, because the last chunk is sealed differently, by Finish.
type encWriter struct {
	w     io.Writer
	aead  cipher.AEAD
	buf   []byte // plaintext of the chunk being filled
	out   []byte
	ad    []byte
	nonce [12]byte
	idx   int64
}

// newEncWriter writes the header of a file under the keyring's active key to w.
func newEncWriter(w io.Writer, keys Keys) (*encWriter, error) {
	id, key, err := keys.Active()
	if err != nil {
		return nil, err
	}
	h, err := newHeader(id)
	if err != nil {
		return nil, err
	}
	a, err := fileAEAD(key, h)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(h.raw); err != nil {
		return nil, err
	}
	return &encWriter{w: w, aead: a, buf: make([]byte, 0, chunkSize), out: make([]byte, 0, encChunkSize), ad: make([]byte, 0, 9+sha256.Size)}, nil
}

func (e *encWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if len(e.buf) == chunkSize {
			if err := e.seal(false, nil); err != nil {
				return n, err
			}
		}
		k := copy(e.buf[len(e.buf):chunkSize], p)
		e.buf = e.buf[:len(e.buf)+k]
		p = p[k:]
		n += k
	}
	return n, nil
}

func (e *encWriter) seal(last bool, sum []byte) error {
	e.out = e.aead.Seal(e.out[:0], chunkNonce(&e.nonce, e.idx), e.buf, chunkAD(e.ad, e.idx, last, sum))
	e.idx++
	e.buf = e.buf[:0]
	_, err := e.w.Write(e.out)
	return err
}

// Finish seals the last chunk, binding the file to sum, the raw sha256 of all the plaintext.
func (e *encWriter) Finish(sum []byte) error { return e.seal(true, sum) }

// File reads the plaintext of an encrypted blob file: an io.ReadSeeker and io.ReaderAt that
// decrypts, and authenticates, only the chunks a read covers. No byte is returned before its
// chunk has authenticated. It is safe for concurrent ReadAt calls.
type File struct {
	f     *os.File
	sha   string
	hdr   int64
	keyID string

	mu sync.Mutex
	chunkOpener
	cur int64 // chunk held in plain, -1 for none
	ct  []byte
	off int64 // position of Read and Seek
}

// openFile opens an encrypted blob file and authenticates its header and last chunk (which binds
// it to sha), so a file renamed, truncated or written under another KEK is refused at once.
func openFile(path, sha string, keys Keys) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	bf, err := newFile(f, sha, keys)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return bf, nil
}

func newFile(f *os.File, sha string, keys Keys) (*File, error) {
	sum, err := hex.DecodeString(sha)
	if err != nil || len(sum) != sha256.Size {
		return nil, fault.New(fault.Invalid, "%q is not a sha256", sha)
	}
	h, err := readHeader(f)
	if err != nil {
		return nil, err
	}
	key, err := keys.Key(h.keyID)
	if err != nil {
		return nil, err
	}
	a, err := fileAEAD(key, h)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size, chunks, ok := plainSize(st.Size(), int64(len(h.raw)))
	if !ok {
		return nil, damaged(sha, "its length %d fits no chunk layout (truncated?)", st.Size())
	}
	bf := &File{f: f, sha: sha, hdr: int64(len(h.raw)), keyID: h.keyID, cur: -1, ct: make([]byte, encChunkSize),
		chunkOpener: chunkOpener{aead: a, sum: sum, size: size, chunks: chunks, plain: make([]byte, 0, chunkSize), ad: make([]byte, 0, 9+sha256.Size)}}
	if err := bf.load(chunks - 1); err != nil {
		return nil, err
	}
	return bf, nil
}

func damaged(sha, format string, args ...any) error {
	return fault.New(fault.Internal, "blob %s on this server is damaged: %s; the file was altered or is not this blob's, and no unauthenticated byte is served", sha, fmt.Sprintf(format, args...))
}

// load decrypts chunk i into f.plain. The caller holds f.mu (or owns f).
func (f *File) load(i int64) error {
	if f.cur == i {
		return nil
	}
	f.cur = -1
	ct := f.ct[:f.encLen(i)]
	if _, err := f.f.ReadAt(ct, f.hdr+i*encChunkSize); err != nil {
		return fmt.Errorf("blob %s: read chunk %d: %w", f.sha, i, err)
	}
	if _, err := f.open(i, ct); err != nil {
		return damaged(f.sha, "chunk %d of %d does not authenticate", i, f.chunks)
	}
	f.cur = i
	return nil
}

// Size is the plaintext size.
func (f *File) Size() int64 { return f.size }

// KeyID names the data key the file is written under.
func (f *File) KeyID() string { return f.keyID }

// ReadAt implements io.ReaderAt over the plaintext.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.readAt(p, off)
}

func (f *File) readAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("blob: negative offset")
	}
	n := 0
	for len(p) > 0 {
		if off >= f.size {
			return n, io.EOF
		}
		i := off / chunkSize
		if err := f.load(i); err != nil {
			return n, err
		}
		k := copy(p, f.plain[off-i*chunkSize:])
		p, off, n = p[k:], off+int64(k), n+k
	}
	return n, nil
}

// Read implements io.Reader from the current position.
func (f *File) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.off >= f.size {
		return 0, io.EOF
	}
	if max := f.size - f.off; int64(len(p)) > max {
		p = p[:max]
	}
	n, err := f.readAt(p, f.off)
	f.off += int64(n)
	if errors.Is(err, io.EOF) && n > 0 {
		err = nil
	}
	return n, err
}

// Seek implements io.Seeker over the plaintext.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.off
	case io.SeekEnd:
		offset += f.size
	default:
		return 0, errors.New("blob: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("blob: seek before the start")
	}
	f.off = offset
	return offset, nil
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// verifyWriter checks a ciphertext stream of a known length as it is copied: it parses the
// header, decrypts every chunk and hashes the plaintext, so a peer's file is verified against
// its address while it arrives, without a second read. Finish reports the outcome.
type verifyWriter struct {
	chunkOpener // aead, size and chunks are set once the header has arrived
	keys        Keys
	sha         string
	length      int64 // total ciphertext bytes expected
	hdr         []byte
	idx         int64
	buf         []byte
	h           hashWriter
	written     int64
}

type hashWriter interface {
	io.Writer
	Sum([]byte) []byte
}

func newVerifyWriter(keys Keys, sha string, length int64) (*verifyWriter, error) {
	sum, err := hex.DecodeString(sha)
	if err != nil || len(sum) != sha256.Size {
		return nil, fault.New(fault.Invalid, "%q is not a sha256", sha)
	}
	return &verifyWriter{keys: keys, sha: sha, length: length, buf: make([]byte, 0, encChunkSize), h: sha256.New(),
		chunkOpener: chunkOpener{sum: sum, plain: make([]byte, 0, chunkSize), ad: make([]byte, 0, 9+sha256.Size)}}, nil
}

func (v *verifyWriter) Write(p []byte) (int, error) {
	n := len(p)
	v.written += int64(n)
	if v.written > v.length {
		return 0, fmt.Errorf("blob %s: more than the %d bytes announced", v.sha, v.length)
	}
	for len(p) > 0 {
		if v.aead == nil {
			need := 6
			if len(v.hdr) >= 6 {
				need = 6 + int(v.hdr[5]) + saltSize
			}
			k := min(need-len(v.hdr), len(p))
			v.hdr = append(v.hdr, p[:k]...)
			p = p[k:]
			if len(v.hdr) == 6 {
				if err := checkPrefix(v.hdr); err != nil {
					return 0, fmt.Errorf("blob %s from the peer: %w", v.sha, err)
				}
			} else if len(v.hdr) == need {
				if err := v.start(); err != nil {
					return 0, err
				}
			}
			continue
		}
		want := v.encLen(v.idx)
		k := min(int(want)-len(v.buf), len(p))
		v.buf = append(v.buf, p[:k]...)
		p = p[k:]
		if int64(len(v.buf)) == want {
			pl, err := v.open(v.idx, v.buf)
			if err != nil {
				return 0, fmt.Errorf("blob %s: chunk %d from the peer does not authenticate; discarded", v.sha, v.idx)
			}
			_, _ = v.h.Write(pl)
			v.buf = v.buf[:0]
			v.idx++
		}
	}
	return n, nil
}

func (v *verifyWriter) start() error {
	h, err := readHeader(bytes.NewReader(v.hdr))
	if err != nil {
		return fmt.Errorf("blob %s from the peer: %w", v.sha, err)
	}
	key, err := v.keys.Key(h.keyID)
	if err != nil {
		return &keyError{err}
	}
	if v.aead, err = fileAEAD(key, h); err != nil {
		return err
	}
	var ok bool
	if v.size, v.chunks, ok = plainSize(v.length, int64(len(h.raw))); !ok {
		return fmt.Errorf("blob %s from the peer: %d bytes fit no chunk layout", v.sha, v.length)
	}
	return nil
}

// keyError is a failure to get a file's data key: a problem of this server's keyring, not of the
// file, which is kept.
type keyError struct{ err error }

func (e *keyError) Error() string { return e.err.Error() }
func (e *keyError) Unwrap() error { return e.err }

// Finish checks that the whole announced stream arrived and that its plaintext is the blob.
func (v *verifyWriter) Finish() (plainSize int64, err error) {
	if v.written != v.length || v.aead == nil || v.idx != v.chunks {
		return 0, fmt.Errorf("blob %s: the transfer ended after %d of %d bytes", v.sha, v.written, v.length)
	}
	if got := hex.EncodeToString(v.h.Sum(nil)); got != v.sha {
		return 0, fmt.Errorf("blob %s: the received content has sha256 %s; discarded", v.sha, got)
	}
	return v.size, nil
}
