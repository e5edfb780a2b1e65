package build

import "github.com/slipwayhq/slipway/server/core/command"

// The commands of the read side of builds (the logs helper's block, 1730-1749). Their numbers,
// names, schema versions and payload JSON are part of the Raft log format: never change them.
var (
	cmdFinish = command.Define[FinishPayload](1730, "build.finish", 1)
)

// FinishPayload settles an ended build (the leader's finish task proposes it once it has
// assembled the build's log and set its commit status): the log is the blob Blob of Size bytes
// ("" for a build without a line), Lines the number of the last line it holds (0: none), Index
// the byte offset in it of line 1+k*LogIndexStride for each k. Apply refuses it (a conflict the
// task retries) when the build's batches end at another line than Lines: lines that landed
// after the assembly are not deleted unread. Apply records them on the build (LogBlob, LogBlobSize, LogIndex) with a reference to
// the blob, deletes the build's build/logs batches and its build/finish entry. A build already
// settled, or deleted since, is left as it is (its entry and batches are still deleted), so a new
// leader redoing the task changes nothing twice.
type FinishPayload struct {
	ID    string  `json:"id"`
	Blob  string  `json:"blob,omitempty"`
	Size  int64   `json:"size,omitempty"`
	Lines uint64  `json:"lines,omitempty"`
	Index []int64 `json:"index,omitempty"`
}
