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

	"github.com/slipwayhq/slipway/server/fault"
)

// Proto is the first byte of a blob connection on the Raft port.
//
// Protocol (one operation per connection; JSON lines, then raw bytes):
//
//	put:  → {"op":"put","sha256":H,"size":N}     ← {"have":bool}
//	      if not have: → N bytes                 ← {"error":""} once fsynced in place
//	get:  → {"op":"get","sha256":H,"offset":O}  ← {"size":N,"error":""}, then bytes O..N
//
// Content is verified against its hash on arrival, so a peer can neither corrupt nor rename a
// blob. The connection shares the trust of the Raft port it rides on: with TLS, only servers of
// the cluster reach it (see raftstore's mux).
const Proto byte = 'B'

type peerRequest struct {
	Op     string `json:"op"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size,omitempty"`
	Offset int64  `json:"offset,omitempty"`
}

type peerReply struct {
	Have  bool   `json:"have,omitempty"`
	Size  int64  `json:"size,omitempty"`
	Error string `json:"error,omitempty"`
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
		_, _, err := s.store.Write(io.LimitReader(br, req.Size), req.SHA256, req.Size, -1)
		rep := peerReply{}
		if err != nil {
			rep.Error = err.Error()
			s.log.Warn("peer push refused", "sha256", req.SHA256, "error", err)
		}
		_ = writeLine(conn, rep)
	case "get":
		f, err := s.store.Open(req.SHA256)
		if err != nil {
			_ = writeLine(conn, peerReply{Error: "not here"})
			return
		}
		defer func() { _ = f.Close() }()
		st, err := f.Stat()
		if err != nil || req.Offset < 0 || req.Offset > st.Size() {
			_ = writeLine(conn, peerReply{Error: "bad offset"})
			return
		}
		if err := writeLine(conn, peerReply{Size: st.Size()}); err != nil {
			return
		}
		_, _ = io.Copy(conn, io.NewSectionReader(f, req.Offset, st.Size()-req.Offset))
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
	f, err := s.store.Open(sha)
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

// fetch copies a blob from a peer into the store, resuming a partial earlier fetch, and
// verifies its hash before placing it.
func (s *Service) fetch(ctx context.Context, addr, sha string, size int64) (err error) {
	part := s.store.partPath(sha)
	f, err := os.OpenFile(part, os.O_CREATE|os.O_WRONLY, 0o600)
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
	if offset > size {
		offset = 0
		if err := f.Truncate(0); err != nil {
			return err
		}
	}
	if offset < size {
		if err := s.store.room(size - offset); err != nil {
			return err
		}
		conn, closeConn, err := s.dial(ctx, addr)
		if err != nil {
			return err
		}
		defer closeConn()
		br := bufio.NewReaderSize(conn, 256<<10)
		if err := writeLine(conn, peerRequest{Op: "get", SHA256: sha, Offset: offset}); err != nil {
			return err
		}
		var rep peerReply
		if err := readLine(br, &rep); err != nil {
			return fmt.Errorf("fetch from %s: %w", addr, err)
		}
		if rep.Error != "" {
			return fmt.Errorf("fetch from %s: %s", addr, rep.Error)
		}
		if rep.Size != size {
			return fmt.Errorf("fetch from %s: peer has %d bytes, the record says %d", addr, rep.Size, size)
		}
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.CopyBuffer(s.store.guard(f), io.LimitReader(br, size-offset), make([]byte, 256<<10)); err != nil {
			return storageErr("fetch from "+addr, err)
		}
	}
	if err := f.Sync(); err != nil {
		return storageErr("sync", err)
	}
	return s.store.adoptPart(part, sha, size)
}
