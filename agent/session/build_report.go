package session

import (
	"bytes"
	"fmt"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/builder/report"
	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/pkg/mask"
)

// buildLog is the io.Writer a build's log goes to: whole lines become Log messages of the
// build (Kind "build" through the Reporter), each with the phase running when it was written
// (Event) and Stream "stdout" (a build's output is one stream). Secret values are masked before
// the lines are cut (Mask). Safe for concurrent use.
type buildLog struct {
	rep *Reporter
	id  string
	now func() time.Time
	max int64 // text bytes sent at most (MaxBuildLogBytes)

	mu      sync.Mutex
	phase   string
	partial []byte
	masked  *mask.Writer // nil until Mask
	sent    int64        // text bytes sent
	cut     bool         // the log reached max: later lines are dropped
}

// MaxBuildLogBytes bounds the text of a build's log the agent sends (the server keeps as much,
// build.MaxLogBytes): a build that writes without end fills neither the agent's disk (the
// outbox) nor the network. Later lines are dropped after one line saying so.
const MaxBuildLogBytes = 64 << 20

func newBuildLog(rep *Reporter, id string) *buildLog {
	return &buildLog{rep: rep, id: id, now: time.Now, max: MaxBuildLogBytes}
}

// Mask makes every later write pass through a mask.Writer hiding values.
func (l *buildLog) Mask(values []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	bs := make([][]byte, 0, len(values))
	for _, v := range values {
		bs = append(bs, []byte(v))
	}
	l.masked = mask.NewWriter(writerFunc(l.lines), bs...)
}

// SetPhase names the phase of the lines that follow. What the mask held back belongs to the
// phase before: it is written first (the builder's lines are whole at a phase change, so no
// value can continue across it).
func (l *buildLog) SetPhase(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.masked != nil {
		_ = l.masked.Flush()
	}
	l.phase = name
}

// Write implements io.Writer.
func (l *buildLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.masked != nil {
		return l.masked.Write(p)
	}
	return l.lines(p)
}

// Printf writes one line of the agent's own, as the builder writes its lines.
func (l *buildLog) Printf(format string, args ...any) {
	ts := l.now().UTC().Format("2006/01/02 15:04:05.000000")
	_, _ = fmt.Fprintf(l, "[Container] %s %s\n", ts, fmt.Sprintf(format, args...))
}

// Close writes what the mask held back and a last line without its newline.
func (l *buildLog) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.masked != nil {
		_ = l.masked.Close()
	}
	if len(l.partial) > 0 {
		l.emit(string(l.partial))
		l.partial = nil
	}
}

// lines cuts p into lines (l.mu held).
func (l *buildLog) lines(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.partial = append(l.partial, p...)
			if len(l.partial) > agentproto.MaxLineBytes {
				l.emit(string(l.partial))
				l.partial = nil
			}
			break
		}
		line := p[:i]
		if len(l.partial) > 0 {
			line = append(l.partial, line...)
			l.partial = nil
		}
		l.emit(string(bytes.TrimSuffix(line, []byte("\r"))))
		p = p[i+1:]
	}
	return n, nil
}

func (l *buildLog) emit(text string) {
	if l.cut {
		return
	}
	if l.sent += int64(len(text)) + 1; l.sent > l.max {
		l.cut = true
		text = fmt.Sprintf("[Container] the log is cut here: the build wrote more than %d bytes; later lines are not kept (the build goes on)", l.max)
	}
	l.rep.Log(l.id, agentproto.LogLine{Time: l.now().UTC(), Event: l.phase, Stream: "stdout", Text: text})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// buildReports converts the builder's reports to the protocol's.
func buildReports(in []report.Report) []agentproto.BuildReport {
	out := make([]agentproto.BuildReport, 0, len(in))
	for _, r := range in {
		br := agentproto.BuildReport{Name: r.Name, Format: r.Format, Status: r.Status, Message: r.Message, Total: r.Total,
			Counts: r.Counts, DurationNS: r.DurationNS, Files: r.Files, Truncated: r.Truncated,
			Cases: make([]agentproto.BuildTestCase, 0, len(r.Cases))}
		for _, c := range r.Cases {
			br.Cases = append(br.Cases, agentproto.BuildTestCase{Name: c.Name, Prefix: c.Prefix, Suite: c.Suite, Status: c.Status,
				DurationNS: c.DurationNS, Message: c.Message, Output: c.Output, File: c.File})
		}
		out = append(out, br)
	}
	return out
}
