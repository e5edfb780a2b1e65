package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/server/core/command"
)

// oldDeploymentReport is the deployment.report payload as the core defined it before the
// service had its own records: it embedded the agent's messages.
type oldDeploymentReport struct {
	DeploymentID string             `json:"deployment_id"`
	HostID       string             `json:"host_id"`
	Events       []agentproto.Event `json:"events,omitempty"`
	Logs         []agentproto.Log   `json:"logs,omitempty"`
}

// TestReportEncodingUnchanged: a deployment.report command built from the service's own records
// encodes byte for byte as the one built from the agent's messages did (the golden file was
// written by that encoding), and an entry of the old encoding decodes and encodes again to the
// same bytes: the Raft log format did not change when the payload stopped embedding the agent
// protocol's structs.
func TestReportEncodingUnchanged(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 890123456, time.FixedZone("CET", 3600))
	events := []agentproto.Event{
		{DeploymentID: "d-1", Seq: 1, Event: "BeforeInstall", Status: agentproto.StatusStarted, Time: at},
		{DeploymentID: "d-1", Seq: 3, Event: "BeforeInstall", Status: agentproto.StatusFailed, Script: "scripts/a<b>&.sh",
			Result: agentproto.ResultFailed, ExitCode: 3, Message: "exit status 3 \u2028 é \x1b", Time: at.UTC()},
		{DeploymentID: "d-1", Seq: 4, Event: agentproto.DeploymentEnd, Status: agentproto.StatusSucceeded},
	}
	logs := []agentproto.Log{
		{DeploymentID: "d-1", Seq: 2, Lines: []agentproto.LogLine{
			{Time: at, Event: "BeforeInstall", Script: "scripts/a.sh", Stream: "stdout", Text: "hello"},
			{Stream: "stderr", Text: ""},
		}},
		{DeploymentID: "d-1", Seq: 5},                                // no lines: null
		{DeploymentID: "d-1", Seq: 6, Lines: []agentproto.LogLine{}}, // empty lines: []
	}
	old := oldDeploymentReport{DeploymentID: "d-1", HostID: "h-1", Events: events, Logs: logs}
	cur := DeploymentReport{DeploymentID: "d-1", HostID: "h-1", Events: records(events...)}
	for _, l := range logs {
		cur.Logs = append(cur.Logs, logRecord(l))
	}
	now := time.Unix(1700000000, 0)
	oc, err := command.New(cmdDeploymentReport.Type(), "req-1", now, old)
	if err != nil {
		t.Fatal(err)
	}
	oldBytes, err := command.Encode(oc)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := cmdDeploymentReport.New("req-1", now, cur)
	if err != nil {
		t.Fatal(err)
	}
	newBytes, err := command.Encode(nc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(oldBytes, newBytes) {
		t.Fatalf("the report encodes differently:\nold %q\nnew %q", oldBytes, newBytes)
	}
	golden := filepath.Join("testdata", "deployment_report.golden")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, oldBytes, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, newBytes) {
		t.Fatalf("the report encodes differently from %s:\nwant %q\ngot  %q", golden, want, newBytes)
	}
	dc, err := command.Decode(want)
	if err != nil {
		t.Fatal(err)
	}
	p, err := cmdDeploymentReport.Decode(dc)
	if err != nil {
		t.Fatalf("an entry of the old encoding does not decode: %v", err)
	}
	again, err := cmdDeploymentReport.New("req-1", now, p)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := command.Encode(again); !bytes.Equal(b, want) {
		t.Fatalf("decoded and encoded again, an old entry changes:\nwant %q\ngot  %q", want, b)
	}
}
