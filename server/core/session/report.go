package session

import (
	"log/slog"
	"sync"
	"time"
)

// reportLog writes warnings about one session's reports that were refused or cut: the first at
// once, then at most one line per interval with the number left out, so that a hostile agent
// cannot flood the server's log.
type reportLog struct {
	log      *slog.Logger
	host     string
	interval time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (l *reportLog) warn(now time.Time, msg string, attrs ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < l.interval {
		l.suppressed++
		return
	}
	attrs = append([]any{"host", l.host}, attrs...)
	if l.suppressed > 0 {
		attrs = append(attrs, "warnings_suppressed", l.suppressed)
	}
	l.log.Warn(msg, attrs...)
	l.last, l.suppressed = now, 0
}
