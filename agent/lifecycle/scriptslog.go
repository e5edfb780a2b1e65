package lifecycle

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// scriptsLog is a deployment's logs/scripts.log: one line per output line,
//
//	2006-01-02T15:04:05.000000Z [ApplicationStart] [scripts/start.sh] [stdout] text
//
// plus lines from the agent itself (stream "agent").
type scriptsLog struct {
	mu sync.Mutex
	f  *os.File
}

func openScriptsLog(deploymentDir string) (*scriptsLog, error) {
	dir := filepath.Join(deploymentDir, logsName)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, scriptsLogName), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	return &scriptsLog{f: f}, nil
}

func (l *scriptsLog) write(ll agentproto.LogLine) {
	var b strings.Builder
	b.WriteString(ll.Time.UTC().Format("2006-01-02T15:04:05.000000Z07:00"))
	b.WriteString(" [" + ll.Event + "] [" + ll.Script + "] [" + ll.Stream + "] ")
	b.WriteString(strings.ReplaceAll(ll.Text, "\n", " "))
	b.WriteByte('\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		_, _ = l.f.WriteString(b.String())
	}
}

// note writes a line from the agent itself.
func (l *scriptsLog) note(t time.Time, event, script, text string) {
	l.write(agentproto.LogLine{Time: t, Event: event, Script: script, Stream: "agent", Text: text})
}

func (l *scriptsLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		_ = l.f.Close()
		l.f = nil
	}
}
