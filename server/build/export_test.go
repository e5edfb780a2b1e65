package build

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/state"
)

// RunForTest stands for a worker's run of build id on a real one-node server, until the
// scheduler's build.report lands: it stores zip as the primary artifact in the server's blob
// store, then writes, straight into the state, the build IN_PROGRESS, its log (lines, in
// batches of 3, phase BUILD), the artifact, report rep, and its end with status (finished
// included). Only for a one-node cluster: the writes are not replicated.
func RunForTest(ctx context.Context, m *Module, id string, lines []string, status string, zip []byte, rep agentproto.BuildReport) error {
	blob, err := m.core.Blobs.Upload(ctx, bytes.NewReader(zip), "", int64(len(zip)), nil)
	if err != nil {
		return err
	}
	return m.core.State.Update(func(tx *state.Tx) error {
		b, err := mustBuild(tx, id)
		if err != nil {
			return err
		}
		if err := dequeue(tx, b); err != nil {
			return err
		}
		b.Status = pub.BuildInProgress
		for i := 0; i < len(lines); i += 3 {
			bt := logBatch{First: uint64(i) + 1}
			for _, s := range lines[i:min(i+3, len(lines))] {
				bt.Lines = append(bt.Lines, logLine{Time: time.Now().UTC(), Phase: "BUILD", Text: s})
				b.LogBytes += int64(len(s))
			}
			if err := state.Put(tx, bucketLogs, string(logKey(id, bt.First)), bt); err != nil {
				return err
			}
		}
		b.LogLines = uint64(len(lines))
		b.Artifacts = []Artifact{{Name: "app", Blob: blob.SHA256, Size: blob.Size}}
		raw, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketReports).Put(append([]byte(id+"\x00"), rep.Name...), raw); err != nil {
			return err
		}
		b.Reports = []ReportSummary{{Name: rep.Name, Format: rep.Format, Status: rep.Status, Total: rep.Total, Counts: rep.Counts}}
		b.end(time.Now().UTC(), status, status, "")
		b.ModifyIndex++
		if err := state.Put(tx, bucketBuilds, id, b); err != nil {
			return err
		}
		return finished(tx, b)
	})
}
