package gitexec

import (
	"strconv"
	"sync"
)

// MaxStderr is how much of a git's stderr is kept for its error.
const MaxStderr = 64 << 10

// boundedBuffer keeps the first MaxStderr bytes written to it and counts the rest.
type boundedBuffer struct {
	mu      sync.Mutex
	buf     []byte
	dropped int64
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := MaxStderr - len(b.buf)
	if room > len(p) {
		room = len(p)
	}
	b.buf = append(b.buf, p[:room]...)
	b.dropped += int64(len(p) - room)
	return len(p), nil
}

// String is what was kept, with a note of what was not.
func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := string(b.buf)
	if b.dropped > 0 {
		s += "\n[... " + strconv.FormatInt(b.dropped, 10) + " more bytes of stderr dropped]"
	}
	return s
}
