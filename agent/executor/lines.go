package executor

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// truncMark ends a line that was cut at agentproto.MaxLineBytes.
const truncMark = " [line truncated]"

// gate delivers lines to the caller's callback, one at a time, until closed.
type gate struct {
	mu   sync.Mutex
	open bool
	fn   func(Line)
}

func (g *gate) emit(l Line) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open && g.fn != nil {
		g.fn(l)
	}
}

func (g *gate) close() {
	g.mu.Lock()
	g.open = false
	g.mu.Unlock()
}

// readLines reads r line by line until end of file, handing lines to g, and closes r. A line
// longer than agentproto.MaxLineBytes is cut, marked, and the rest of it skipped.
func readLines(r *os.File, stream string, g *gate) {
	defer r.Close()
	br := bufio.NewReaderSize(r, agentproto.MaxLineBytes)
	for {
		b, err := br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			g.emit(Line{Time: time.Now(), Stream: stream, Text: cut(b)})
			if !skipLine(br) {
				return
			}
		case len(b) > 0:
			g.emit(Line{Time: time.Now(), Stream: stream, Text: strings.TrimRight(string(b), "\r\n")})
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// cut shortens an over-long line so that, marked, it fits agentproto.MaxLineBytes, without
// splitting a UTF-8 sequence.
func cut(b []byte) string {
	n := agentproto.MaxLineBytes - len(truncMark)
	if n > len(b) {
		n = len(b)
	}
	for n > 0 && n < len(b) && !utf8.RuneStart(b[n]) {
		n--
	}
	return string(b[:n]) + truncMark
}

// skipLine discards input up to and including the next newline; false at end of input.
func skipLine(br *bufio.Reader) bool {
	for {
		_, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			return true
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return false
		default:
			return false
		}
	}
}
