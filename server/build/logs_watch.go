package build

import (
	"context"
	"net/http"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
)

// watchGap is the least time between two rounds of a log watch: a round wakes on each applied
// entry, and a busy cluster's entries are many; a round reads one record and the new lines.
const watchGap = 20 * time.Millisecond

// buildLogsWatch streams a build's log over a websocket (pub.BuildLogMessage): the lines after
// ?after= as they commit, the record whenever its modify index rises, then a last message with
// End once the build ended and every line was sent, and a normal close. It is closed (1008) when
// its token is revoked or expires, and holds one of its token's stream slots while it runs. Any
// server serves it; a client that lost its server resumes on another with ?after=.
func (m *Module) buildLogsWatch(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	k := m.core.HTTP
	after, _, err := logQuery(r)
	if err != nil {
		return err
	}
	if err := k.ReadBarrier(r); err != nil {
		return err
	}
	if _, err := m.Builds().Record(r.PathValue("id")); err != nil {
		return err
	}
	wt, err := k.OpenWatch(w, r, id)
	if wt == nil || err != nil {
		return err
	}
	send := func(msg pub.BuildLogMessage) bool { return wt.Send(msg) }
	stopped, end, err := m.Builds().Follow(wt.Context(), r.PathValue("id"), after, wt.Stopped, send)
	wt.End(stopped, end, err)
	return nil
}

// Follow sends build id's log lines after line after as they commit, and its record whenever
// its modify index rises, until the build ended and every line was sent (it then sends the last
// message, End set, and answers the build's status as end), send fails, stop answers a reason
// (answered as stopped), or ctx ends. It wakes on each entry this server applies, at most every
// watchGap.
func (s *Builds) Follow(ctx context.Context, id string, after uint64, stop func() string, send func(pub.BuildLogMessage) bool) (stopped, end string, err error) {
	var lastIndex uint64
	var round time.Time
	for {
		if wait := time.Until(round.Add(watchGap)); !round.IsZero() && wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return "", "", ctx.Err()
			case <-t.C:
			}
		}
		round = time.Now()
		idx := s.m.core.Cluster.AppliedIndex()
		if why := stop(); why != "" {
			return why, "", nil
		}
		var b Build
		for { // every page committed so far
			var page pub.BuildLogPage
			page, b, err = s.logs(ctx, id, after, MaxLogLimit)
			if err != nil {
				return "", "", err
			}
			if len(page.Lines) == 0 {
				break
			}
			if !send(pub.BuildLogMessage{Lines: page.Lines, Next: page.Next}) {
				return "", "", nil
			}
			after = page.Next
		}
		if b.ModifyIndex > lastIndex {
			v := buildView(b)
			if !send(pub.BuildLogMessage{Build: &v}) {
				return "", "", nil
			}
			lastIndex = b.ModifyIndex
		}
		if b.Ended() && after >= b.LogLines {
			send(pub.BuildLogMessage{End: b.Status, Next: after})
			return "", b.Status, nil
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_ = s.m.core.Cluster.WaitApplied(wctx, idx+1)
		cancel()
		if err := ctx.Err(); err != nil {
			return "", "", err
		}
	}
}
