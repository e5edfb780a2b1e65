package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/slipwayhq/slipway/pkg/bytesize"
)

// isTerminal reports whether w is a character device (a terminal), the only place a progress
// bar belongs.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress counts bytes through Read or Write and redraws one status line at most ten times a
// second. A nil *progress counts nothing and draws nothing.
type progress struct {
	w      io.Writer
	label  string
	total  int64
	done   int64
	start  time.Time
	drawn  time.Time
	inner  io.Reader
	finish bool
}

func newProgress(out io.Writer, label string, total, already int64) *progress {
	if !isTerminal(out) {
		return nil
	}
	return &progress{w: out, label: label, total: total, done: already, start: time.Now()}
}

func (p *progress) reader(r io.Reader) io.Reader {
	if p == nil {
		return r
	}
	p.inner = r
	return p
}

func (p *progress) Read(b []byte) (int, error) {
	n, err := p.inner.Read(b)
	p.add(n)
	return n, err
}

func (p *progress) Write(b []byte) (int, error) {
	p.add(len(b))
	return len(b), nil
}

func (p *progress) add(n int) {
	if p == nil {
		return
	}
	p.done += int64(n)
	if time.Since(p.drawn) > 100*time.Millisecond || (p.total > 0 && p.done >= p.total) {
		p.draw()
	}
}

func (p *progress) draw() {
	p.drawn = time.Now()
	rate := float64(p.done) / max(time.Since(p.start).Seconds(), 0.001)
	pct := ""
	if p.total > 0 {
		pct = fmt.Sprintf("%3.0f%% ", 100*float64(p.done)/float64(p.total))
	}
	_, _ = fmt.Fprintf(p.w, "\r%s %s%s / %s  %s/s   ", p.label, pct, bytesize.Format(p.done), bytesize.Format(p.total), bytesize.Format(int64(rate)))
}

// end finishes the line.
func (p *progress) end() {
	if p == nil || p.finish {
		return
	}
	p.finish = true
	p.draw()
	_, _ = fmt.Fprintln(p.w)
}
