package session

import (
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// TestReporterKeepsLogMessagesUnderTheServerLimit: a script that writes 400 lines of 16 KiB
// (control characters, which JSON spells in six bytes each) faster than the flush timer used to
// make one 6 MiB Log message, over the server's 1 MiB message limit: the server closed the
// session on it and the agent sent it again forever. Every message now fits.
func TestReporterKeepsLogMessagesUnderTheServerLimit(t *testing.T) {
	out, err := OpenOutbox(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = out.Close() }()
	r := NewReporter(out)
	line := strings.Repeat("\x01", agentproto.MaxLineBytes)
	const lines = 400
	for range lines {
		r.Log("d-1", agentproto.LogLine{Stream: "stdout", Text: line})
	}
	r.flushAll()
	msgs := out.Pending(map[string]uint64{})["d-1"]
	if len(msgs) < 2 {
		t.Fatalf("%d messages for %d lines of %d bytes", len(msgs), lines, agentproto.MaxLineBytes)
	}
	const serverLimit = 1 << 20 // server/core/session's maxMessage
	for i, m := range msgs {
		if len(m) >= serverLimit {
			t.Fatalf("message %d is %d bytes, over the server's %d byte limit", i, len(m), serverLimit)
		}
	}
	got := 0
	for _, m := range msgs {
		got += strings.Count(string(m), `"stream":"stdout"`)
	}
	if got != lines {
		t.Fatalf("%d lines reported, want %d", got, lines)
	}
}
