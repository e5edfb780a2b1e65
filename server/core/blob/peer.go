package blob

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/slipwayhq/slipway/server/core/fault"
)

// Proto is the first byte of a blob connection on the Raft port.
//
// Protocol (one operation per connection; JSON lines, then raw bytes):
//
//	put:  → {"op":"put","sha256":H,"size":N}     ← {"have":bool}
//	      if not have: → N bytes                 ← {"error":""} once fsynced in place
//	get:  → {"op":"get","sha256":H,"offset":O,"file_id":F}
//	      ← {"size":N,"file_id":F',"offset":O',"error":""}, then bytes O'..N
//
// What travels is the blob's file as it is on disk: ciphertext under a data key of the cluster
// keyring, which every server holds (wrapped) in the replicated state. So blob bytes are never
// plaintext on the wire even without TLS, the sender does no work but reading, and a partial
// fetch (.part) resumes by byte offset. A file written before encryption at rest is encrypted in
// place before it is sent (Store.openSendable), and a receiver refuses an unencrypted file (an
// empty file_id, or bytes without the header) before it writes a byte of it. Every server's file of a blob is a different encryption
// (its own random salt), so a resumed get names the file it started from (file_id, a hash of
// that file's header); a server holding another file answers from offset 0, and the fetcher
// starts over. The receiver decrypts and authenticates every chunk and checks the plaintext's
// sha256 before placing the file, so a peer can neither corrupt nor rename a blob. A file
// received under an older data key is re-encrypted by the receiver's own re-encryption job.
// The connection shares the trust of the Raft port it rides on: with TLS, only servers of the
// cluster reach it (see raftstore's mux).
const Proto byte = 'B'

type peerRequest struct {
	Op     string `json:"op"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size,omitempty"`
	Offset int64  `json:"offset,omitempty"`
	FileID string `json:"file_id,omitempty"`
}

type peerReply struct {
	Have   bool   `json:"have,omitempty"`
	Size   int64  `json:"size,omitempty"`
	Offset int64  `json:"offset,omitempty"`
	FileID string `json:"file_id,omitempty"`
	Error  string `json:"error,omitempty"`
}

const maxLine = 4096

// ServeConn serves one peer connection (after the protocol byte).
func (s *Service) ServeConn(conn net.Conn) {
	defer func() { _ = conn.Close() }()
	br := bufio.NewReaderSize(conn, 64<<10)
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var req peerRequest
	if err := readLine(br, &req); err != nil {
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	if !ValidSHA(req.SHA256) {
		_ = writeLine(conn, peerReply{Error: "invalid sha256"})
		return
	}
	switch req.Op {
	case "put":
		if s.store.Has(req.SHA256) {
			_ = writeLine(conn, peerReply{Have: true})
			return
		}
		if err := writeLine(conn, peerReply{}); err != nil {
			return
		}
		err := s.store.writeCiphertext(br, req.SHA256, req.Size)
		rep := peerReply{}
		if err != nil {
			rep.Error = err.Error()
			s.log.Warn("peer push refused", "sha256", req.SHA256, "error", err)
		}
		_ = writeLine(conn, rep)
	case "get":
		f, id, err := s.store.openSendable(req.SHA256)
		if errors.Is(err, os.ErrNotExist) {
			_ = writeLine(conn, peerReply{Error: "not here"})
			return
		}
		if err != nil {
			s.log.Warn("peer fetch refused: the blob's file here cannot be sent", "sha256", req.SHA256, "error", err)
			_ = writeLine(conn, peerReply{Error: "this server's file of the blob cannot be sent: " + err.Error()})
			return
		}
		defer func() { _ = f.Close() }()
		st, err := f.Stat()
		offset := req.Offset
		if err == nil && (req.FileID != id || offset > st.Size()) {
			offset = 0 // another encryption than the one the fetcher has part of
		}
		if err != nil || offset < 0 {
			_ = writeLine(conn, peerReply{Error: "bad offset"})
			return
		}
		if err := writeLine(conn, peerReply{Size: st.Size(), Offset: offset, FileID: id}); err != nil {
			return
		}
		_, _ = io.Copy(conn, io.NewSectionReader(f, offset, st.Size()-offset))
	default:
		_ = writeLine(conn, peerReply{Error: "unknown op"})
	}
}

func readLine(br *bufio.Reader, v any) error {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return fmt.Errorf("line longer than %d bytes", maxLine)
		}
		return err
	}
	return json.Unmarshal(line, v)
}

func writeLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// dial opens a blob connection to a peer's Raft address (through cfg.Dial), closed when ctx ends.
func (s *Service) dial(ctx context.Context, addr string) (net.Conn, func(), error) {
	d := s.cfg.Dial
	if d == nil {
		d = dialPlain
	}
	conn, err := d(ctx, addr, Proto)
	if err != nil {
		return nil, nil, err
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = conn.Close()
		case <-done:
		}
	}()
	return conn, func() { close(done); _ = conn.Close() }, nil
}

func dialPlain(ctx context.Context, addr string, b byte) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write([]byte{b}); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return conn, nil
}

// push copies a local blob to a peer; it returns once the peer holds it durably.
func (s *Service) push(ctx context.Context, addr, sha string) error {
	f, _, err := s.store.openSendable(sha)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	conn, closeConn, err := s.dial(ctx, addr)
	if err != nil {
		return err
	}
	defer closeConn()
	br := bufio.NewReader(conn)
	if err := writeLine(conn, peerRequest{Op: "put", SHA256: sha, Size: st.Size()}); err != nil {
		return err
	}
	var rep peerReply
	if err := readLine(br, &rep); err != nil {
		return fmt.Errorf("push to %s: %w", addr, err)
	}
	if rep.Have {
		return nil
	}
	if rep.Error != "" {
		return fmt.Errorf("push to %s: %s", addr, rep.Error)
	}
	if _, err := io.CopyBuffer(conn, f, make([]byte, 256<<10)); err != nil {
		return fmt.Errorf("push to %s: %w", addr, err)
	}
	if err := readLine(br, &rep); err != nil {
		return fmt.Errorf("push to %s: %w", addr, err)
	}
	if rep.Error != "" {
		return fmt.Errorf("push to %s: %s", addr, rep.Error)
	}
	return nil
}

// fetch copies a blob's file from a peer into the store, resuming a partial earlier fetch of
// the same file, and verifies it (every chunk authenticates, the plaintext has the record's
// size and sha256) before placing it.
func (s *Service) fetch(ctx context.Context, addr, sha string, size int64) (err error) {
	part := s.store.partPath(sha)
	f, err := os.OpenFile(part, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return storageErr("create partial file", err)
	}
	defer func() {
		_ = f.Close()
		if fault.CodeOf(err) == fault.NoSpace {
			// A partial file kept for resuming would hold space the Raft log needs.
			_ = os.Remove(part)
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	offset := st.Size()
	partID := ""
	if offset > 0 {
		if partID = fileID(f); partID == "" {
			offset = 0 // not even a header yet: start over
		}
	}
	if err := s.store.room(size - min(offset, size)); err != nil {
		return err
	}
	conn, closeConn, err := s.dial(ctx, addr)
	if err != nil {
		return err
	}
	defer closeConn()
	br := bufio.NewReaderSize(conn, 256<<10)
	if err := writeLine(conn, peerRequest{Op: "get", SHA256: sha, Offset: offset, FileID: partID}); err != nil {
		return err
	}
	var rep peerReply
	if err := readLine(br, &rep); err != nil {
		return fmt.Errorf("fetch from %s: %w", addr, err)
	}
	if rep.Error != "" {
		return fmt.Errorf("fetch from %s: %s", addr, rep.Error)
	}
	if !s.store.plain {
		// An empty file_id is a file without the encrypted header: refused before a byte of it
		// is stored. The header's fixed part is checked too, in case a peer names an id anyway.
		if rep.FileID == "" {
			return fmt.Errorf("fetch from %s: the peer's file of blob %s is not encrypted (written before encryption at rest, and not converted by that server yet); refused without storing it: another server, or this one once it has encrypted the file, provides it", addr, sha)
		}
		if rep.Offset == 0 {
			prefix, err := br.Peek(6)
			if err != nil {
				return fmt.Errorf("fetch from %s: %w", addr, err)
			}
			if err := checkPrefix(prefix); err != nil {
				return fmt.Errorf("fetch from %s: the peer's file of blob %s: %w; refused without storing it", addr, sha, err)
			}
		}
	}
	// The file is the plaintext plus a header and 16 bytes a chunk: within 1% and 100 bytes.
	if rep.Size < size || rep.Size > size+size/100+maxHeaderLen+tagSize {
		return fmt.Errorf("fetch from %s: peer has a %d-byte file, which cannot hold the record's %d bytes", addr, rep.Size, size)
	}
	offset = rep.Offset
	if err := f.Truncate(offset); err != nil {
		return storageErr("fetch from "+addr, err)
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return err
	}
	if _, err := io.CopyBuffer(s.store.guard(f), io.LimitReader(br, rep.Size-offset), make([]byte, 256<<10)); err != nil {
		return storageErr("fetch from "+addr, err)
	}
	if err := f.Sync(); err != nil {
		return storageErr("sync", err)
	}
	return s.store.adoptPart(part, sha, size)
}
