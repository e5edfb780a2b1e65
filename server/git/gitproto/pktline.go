package gitproto

import (
	"errors"
	"fmt"
	"io"
)

// Pkt-line sizes (gitprotocol-common(5)): the 4-byte hex length counts itself, and a whole
// packet is at most MaxPacketLen bytes.
const (
	MaxPacketLen  = 65520
	MaxPayloadLen = MaxPacketLen - 4
)

// Kind is what a pkt-line is: data, or one of the special zero-payload packets.
type Kind int

// The kinds of packets. Flush ("0000") ends a list; Delim ("0001") separates sections in
// protocol v2; ResponseEnd ("0002") ends a stateless v2 response.
const (
	Data Kind = iota
	Flush
	Delim
	ResponseEnd
)

func (k Kind) String() string {
	switch k {
	case Data:
		return "data"
	case Flush:
		return "flush"
	case Delim:
		return "delim"
	case ResponseEnd:
		return "response-end"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// ErrMalformed is matched (errors.Is) by every error that reports bytes which are not valid
// pkt-lines or not valid in the protocol being read.
var ErrMalformed = errors.New("malformed git protocol data")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Reader reads pkt-lines from r. It reads exactly the bytes of each packet and never ahead,
// so after the last packet a caller wants, the rest of r (a pack, say) is untouched.
type Reader struct {
	r        io.Reader
	hdr      [4]byte
	buf      []byte
	consumed int64
}

// NewReader returns a Reader over r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: r}
}

// Next reads one packet. For Data it returns the payload, which stays valid only until the
// next call. At the end of input before a packet begins it returns io.EOF; input that ends
// inside a packet is io.ErrUnexpectedEOF; a length that is not four hex digits, is 0003, or is
// over MaxPacketLen is ErrMalformed, and the Reader is not usable after it.
func (r *Reader) Next() (Kind, []byte, error) {
	n, err := io.ReadFull(r.r, r.hdr[:])
	r.consumed += int64(n)
	if err != nil {
		if err == io.EOF {
			return 0, nil, io.EOF
		}
		return 0, nil, io.ErrUnexpectedEOF
	}
	size, ok := parseHex4(r.hdr)
	if !ok {
		return 0, nil, malformed("pkt-line length %q is not four hex digits", r.hdr[:])
	}
	switch size {
	case 0:
		return Flush, nil, nil
	case 1:
		return Delim, nil, nil
	case 2:
		return ResponseEnd, nil, nil
	case 3:
		return 0, nil, malformed("pkt-line length 0003 is invalid")
	}
	if size > MaxPacketLen {
		return 0, nil, malformed("pkt-line length %d is over the limit of %d", size, MaxPacketLen)
	}
	if cap(r.buf) < size-4 {
		r.buf = make([]byte, size-4, MaxPayloadLen)
	}
	r.buf = r.buf[:size-4]
	n, err = io.ReadFull(r.r, r.buf)
	r.consumed += int64(n)
	if err != nil {
		return 0, nil, io.ErrUnexpectedEOF
	}
	return Data, r.buf, nil
}

// Consumed is the number of bytes read from the underlying reader so far.
func (r *Reader) Consumed() int64 { return r.consumed }

func parseHex4(h [4]byte) (int, bool) {
	v := 0
	for _, c := range h {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | int(d)
	}
	return v, true
}

// TrimLF returns p without one trailing newline: git writes text packets with a final LF
// and readers must accept them with or without it.
func TrimLF(p []byte) []byte {
	if len(p) > 0 && p[len(p)-1] == '\n' {
		return p[:len(p)-1]
	}
	return p
}

// Writer writes pkt-lines to w.
type Writer struct {
	w   io.Writer
	buf []byte
}

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w}
}

// Data writes p as one data packet; a payload over MaxPayloadLen is refused (nothing is
// written).
func (w *Writer) Data(p []byte) error {
	if len(p) > MaxPayloadLen {
		return fmt.Errorf("pkt-line payload of %d bytes is over the limit of %d", len(p), MaxPayloadLen)
	}
	w.buf = append(w.buf[:0], fmt.Sprintf("%04x", len(p)+4)...)
	w.buf = append(w.buf, p...)
	_, err := w.w.Write(w.buf)
	return err
}

// Line writes s followed by LF as one data packet, as git writes text.
func (w *Writer) Line(s string) error {
	if len(s)+1 > MaxPayloadLen {
		return fmt.Errorf("pkt-line payload of %d bytes is over the limit of %d", len(s)+1, MaxPayloadLen)
	}
	w.buf = append(w.buf[:0], fmt.Sprintf("%04x", len(s)+5)...)
	w.buf = append(w.buf, s...)
	w.buf = append(w.buf, '\n')
	_, err := w.w.Write(w.buf)
	return err
}

// Flush writes a flush packet (0000).
func (w *Writer) Flush() error { return w.special("0000") }

// Delim writes a delimiter packet (0001).
func (w *Writer) Delim() error { return w.special("0001") }

// ResponseEnd writes a response-end packet (0002).
func (w *Writer) ResponseEnd() error { return w.special("0002") }

func (w *Writer) special(s string) error {
	_, err := io.WriteString(w.w, s)
	return err
}
