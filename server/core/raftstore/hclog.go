package raftstore

import (
	"bytes"
	"context"
	"log/slog"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// newHCLogger adapts slog for hashicorp libraries: each line they write becomes one slog record
// at the level the line names.
func newHCLogger(name string, log *slog.Logger) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:        name,
		Level:       hclog.Info,
		Output:      &slogWriter{log: log.With("component", name)},
		DisableTime: true,
	})
}

type slogWriter struct{ log *slog.Logger }

func (w *slogWriter) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimRight(p, "\n"), []byte("\n")) {
		s := string(line)
		lvl := slog.LevelInfo
		switch {
		case strings.Contains(s, "[ERROR]"):
			lvl = slog.LevelError
		case strings.Contains(s, "[WARN]"):
			lvl = slog.LevelWarn
		case strings.Contains(s, "[DEBUG]"), strings.Contains(s, "[TRACE]"):
			lvl = slog.LevelDebug
		}
		w.log.Log(context.Background(), lvl, strings.TrimSpace(s))
	}
	return len(p), nil
}
