package deploy

import (
	"cmp"
	"encoding/json"
	"slices"

	"github.com/slipwayhq/slipway/server/core/command"
)

// maxReportBytes bounds the reports one deployment.report command carries, well under
// command.MaxEncodedSize. A batch from a chatty host (several large output messages that arrived
// together) is split into several commands; see splitReport.
const maxReportBytes = command.MaxEncodedSize / 2

// splitReport cuts a host's reports for one deployment into parts of at most maxReportBytes of
// encoded reports each (a single larger report goes alone), in sequence order, so that applying
// the parts one after another applies the same items in the same order as one command would:
// the FSM takes a host's reports only in sequence and waits at a gap, so parts must never be
// applied out of order or at once.
func splitReport(g *DeploymentReport) []*DeploymentReport {
	type item struct {
		seq   uint64
		event int // index in g.Events, or -1
		log   int // index in g.Logs, or -1
		size  int
	}
	items := make([]item, 0, len(g.Events)+len(g.Logs))
	for i := range g.Events {
		b, _ := json.Marshal(&g.Events[i])
		items = append(items, item{seq: g.Events[i].Seq, event: i, log: -1, size: len(b)})
	}
	for i := range g.Logs {
		b, _ := json.Marshal(&g.Logs[i])
		items = append(items, item{seq: g.Logs[i].Seq, event: -1, log: i, size: len(b)})
	}
	slices.SortStableFunc(items, func(a, b item) int { return cmp.Compare(a.seq, b.seq) })
	var parts []*DeploymentReport
	var cur *DeploymentReport
	size := 0
	for _, it := range items {
		if cur == nil || (size > 0 && size+it.size > maxReportBytes) {
			cur = &DeploymentReport{DeploymentID: g.DeploymentID, HostID: g.HostID}
			parts = append(parts, cur)
			size = 0
		}
		if it.event >= 0 {
			cur.Events = append(cur.Events, g.Events[it.event])
		} else {
			cur.Logs = append(cur.Logs, g.Logs[it.log])
		}
		size += it.size
	}
	return parts
}
