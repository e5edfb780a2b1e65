package session

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

func addEvent(t *testing.T, o *Outbox, dep, name string) {
	t.Helper()
	err := o.Add(dep, agentproto.TypeEvent, func(seq uint64) any {
		return agentproto.Event{DeploymentID: dep, Seq: seq, Event: name, Status: agentproto.StatusSucceeded}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func seqs(t *testing.T, msgs [][]byte) []uint64 {
	t.Helper()
	var out []uint64
	for _, m := range msgs {
		var env agentproto.Envelope
		var ev agentproto.Event
		if json.Unmarshal(m, &env) != nil || json.Unmarshal(env.Body, &ev) != nil {
			t.Fatalf("bad message %s", m)
		}
		out = append(out, ev.Seq)
	}
	return out
}

func TestOutboxSurvivesRestartAndTornTail(t *testing.T) {
	dir := t.TempDir()
	o, err := OpenOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	addEvent(t, o, "d1", "BeforeInstall")
	addEvent(t, o, "d1", "AfterInstall")
	o.Ack("d1", 1)
	_ = o.Close()
	// A crash mid-write leaves half a line.
	f, err := os.OpenFile(filepath.Join(dir, "d1.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(`{"seq":3,"type":"ev`)
	_ = f.Close()

	o, err = OpenOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = o.Close() }()
	addEvent(t, o, "d1", agentproto.DeploymentEnd)
	// Acknowledgements are not persisted: after a restart everything is sent again, in order,
	// and the server ignores what it already has.
	got := seqs(t, o.Pending(map[string]uint64{})["d1"])
	if len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Fatalf("pending after restart: %v, want [1 2 3]", got)
	}
	o2, err := OpenOutbox(dir) // the torn line was cut, so the new report is readable
	if err != nil {
		t.Fatal(err)
	}
	if got := seqs(t, o2.Pending(map[string]uint64{})["d1"]); len(got) != 3 {
		t.Fatalf("reports after the torn line lost: %v", got)
	}
	_ = o2.Close()
	o.Ack("d1", 3)
	if _, err := os.Stat(filepath.Join(dir, "d1.jsonl")); !os.IsNotExist(err) {
		t.Fatalf("finished, acknowledged outbox not removed: %v", err)
	}
}

func TestPendingSkipsWhatWasSent(t *testing.T) {
	o, err := OpenOutbox(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = o.Close() }()
	addEvent(t, o, "d1", "a")
	sent := map[string]uint64{}
	if got := seqs(t, o.Pending(sent)["d1"]); len(got) != 1 {
		t.Fatalf("first pending %v", got)
	}
	addEvent(t, o, "d1", "b")
	if got := seqs(t, o.Pending(sent)["d1"]); len(got) != 1 || got[0] != 2 {
		t.Fatalf("second pending %v, want [2]", got)
	}
	if got := o.Pending(sent)["d1"]; len(got) != 0 {
		t.Fatalf("nothing new, got %d", len(got))
	}
}
