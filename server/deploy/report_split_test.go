package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/server/core/command"
)

// TestSplitReportFitsTheLog: six 1 MiB output messages and a few events that arrived together
// from one host used to make one command over the 4 MiB limit of a log entry, which could never
// be proposed, so that host's reports stalled for good. They are now cut into parts that each
// encode, with every item once, in sequence order.
func TestSplitReportFitsTheLog(t *testing.T) {
	g := &DeploymentReport{DeploymentID: "d-1", HostID: "h-1"}
	big := strings.Repeat("x", 1<<20)
	var seq uint64
	for i := range 6 {
		seq++
		g.Logs = append(g.Logs, ReportLog{DeploymentID: "d-1", Seq: seq, Lines: []ReportLogLine{{Text: big}}})
		if i%2 == 0 {
			seq++
			g.Events = append(g.Events, ReportEvent{DeploymentID: "d-1", Seq: seq, Event: "BeforeInstall", Status: string(agentproto.StatusStarted), Time: time.Unix(1, 0)})
		}
	}
	fits := func(r *DeploymentReport) error {
		c, err := cmdDeploymentReport.New("", time.Now(), *r)
		if err == nil {
			_, err = command.Encode(c)
		}
		return err
	}
	if fits(g) == nil {
		t.Fatal("the test's report fits one command: it proves nothing")
	}
	parts := splitReport(g)
	if len(parts) < 2 {
		t.Fatalf("%d parts", len(parts))
	}
	var next uint64 = 1
	for i, p := range parts {
		if err := fits(p); err != nil {
			t.Fatalf("part %d does not fit a command: %v", i, err)
		}
		if p.DeploymentID != "d-1" || p.HostID != "h-1" {
			t.Fatalf("part %d names %s/%s", i, p.DeploymentID, p.HostID)
		}
		var seqs []uint64
		for _, e := range p.Events {
			seqs = append(seqs, e.Seq)
		}
		for _, l := range p.Logs {
			seqs = append(seqs, l.Seq)
		}
		// Within a part the FSM sorts by sequence; across parts the sequence must run on.
		lo, hi := seqs[0], seqs[0]
		for _, s := range seqs {
			lo, hi = min(lo, s), max(hi, s)
		}
		if lo != next || hi-lo+1 != uint64(len(seqs)) {
			t.Fatalf("part %d holds sequence numbers %v, want a run from %d", i, seqs, next)
		}
		next = hi + 1
	}
	if next != seq+1 {
		t.Fatalf("parts end at %d, want every item through %d", next-1, seq)
	}
	if one := splitReport(&DeploymentReport{DeploymentID: "d", HostID: "h", Events: g.Events[:1]}); len(one) != 1 {
		t.Fatalf("a small report became %d parts", len(one))
	}
}
