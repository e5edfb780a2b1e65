package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/state"
)

// watchExecutions is how many of the newest executions a watch message carries; watchGap the
// least time between two rounds of a watch.
const (
	watchExecutions = 5
	watchGap        = 20 * time.Millisecond
)

// watch streams a pipeline's state over a websocket (pub.PipelineWatchMessage): the pipeline
// and its newest executions at once, then again after every applied change that touched them,
// then End "deleted" when the pipeline is deleted. It is closed (1008) when its token is
// revoked or expires, and holds one of its token's stream slots while it runs.
func (m *Module) watch(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	k := m.core.HTTP
	if err := k.ReadBarrier(r); err != nil {
		return err
	}
	name := r.PathValue("name")
	if _, err := m.Pipelines().Record(name); err != nil {
		return err
	}
	wt, err := k.OpenWatch(w, r, id)
	if wt == nil || err != nil {
		return err
	}
	stopped, end, err := m.Pipelines().Follow(wt.Context(), name, wt.Stopped, func(msg pub.PipelineWatchMessage) bool { return wt.Send(msg) })
	wt.End(stopped, end, err)
	return nil
}

// Follow sends pipeline name with its newest executions whenever they change (compared as
// the message's bytes), waking on each entry this server applies (at most every watchGap),
// until the pipeline is deleted (a last message with End "deleted", answered as end), send
// fails, stop answers a reason (answered as stopped), or ctx ends.
func (p *Pipelines) Follow(ctx context.Context, name string, stop func() string, send func(pub.PipelineWatchMessage) bool) (stopped, end string, err error) {
	var last []byte
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
		idx := p.m.core.Cluster.AppliedIndex()
		if why := stop(); why != "" {
			return why, "", nil
		}
		msg, ok, err := p.snapshot(name)
		if err != nil {
			return "", "", err
		}
		if !ok {
			send(pub.PipelineWatchMessage{End: "deleted"})
			return "", "deleted", nil
		}
		data, err := json.Marshal(msg)
		if err != nil {
			return "", "", err
		}
		if !bytes.Equal(data, last) {
			if !send(msg) {
				return "", "", nil
			}
			last = data
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_ = p.m.core.Cluster.WaitApplied(wctx, idx+1)
		cancel()
		if err := ctx.Err(); err != nil {
			return "", "", err
		}
	}
}

// snapshot answers a watch message of pipeline name as this server has it (ok false: none).
func (p *Pipelines) snapshot(name string) (pub.PipelineWatchMessage, bool, error) {
	var msg pub.PipelineWatchMessage
	var ok bool
	err := p.m.core.State.View(func(tx *state.Tx) error {
		r, found, err := loadRecord(tx, name)
		if err != nil || !found {
			return err
		}
		ok = true
		v := recordView(r)
		msg.Pipeline = &v
		list, _, err := historyPage(tx, name, "", watchExecutions)
		if err != nil {
			return err
		}
		msg.Executions = make([]pub.PipelineExecution, 0, len(list))
		for _, e := range list {
			msg.Executions = append(msg.Executions, view(e))
		}
		return nil
	})
	return msg, ok, err
}
