package deploy

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Spacing of a watch's rounds: watchGapPerHost for each host of the deployment, at most
// watchGapMax. A 100-host deployment's rounds are at least 2 ms apart, a 10,000-host one's 200 ms.
const (
	watchGapPerHost = 20 * time.Microsecond
	watchGapMax     = time.Second
)

// watchGap is the least time between two rounds of a watch of a deployment on hosts hosts.
func watchGap(hosts int) time.Duration {
	return min(time.Duration(hosts)*watchGapPerHost, watchGapMax)
}

// pace waits until gap has passed since last (the zero time: no wait), or ctx ends.
func pace(ctx context.Context, last time.Time, gap time.Duration) error {
	wait := time.Until(last.Add(gap))
	if last.IsZero() || wait <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hostsOf is the number of hosts a deployment runs on, from its header (0 if it cannot be read:
// the round's own read reports the error).
func (s Deployments) hostsOf(id string) int {
	n := 0
	_ = s.core.State.View(func(tx *state.Tx) error {
		d, err := readHeader(tx, id)
		if err != nil {
			return err
		}
		if d.Tally != nil {
			n = d.Tally.Hosts
		} else {
			n = len(d.Targets)
		}
		return nil
	})
	return n
}

// newLines reads, in one transaction, the output lines each host of d committed after what the
// watch has sent (after, by host ID, updated; a host seen for the first time starts from
// from.After by its name), as one message per host with lines, in host name order.
func (s Deployments) newLines(d Deployment, from WatchFrom, after map[string]uint64) ([]pub.WatchMessage, error) {
	targets := make([]*Target, 0, len(d.Targets))
	for _, tg := range d.Targets {
		if _, ok := after[tg.HostID]; !ok {
			after[tg.HostID] = from.After[tg.HostName]
		}
		targets = append(targets, tg)
	}
	sort.Slice(targets, func(i, j int) bool { return targets[i].HostName < targets[j].HostName })
	var out []pub.WatchMessage
	err := s.core.State.View(func(tx *state.Tx) error {
		for _, tg := range targets {
			m := pub.WatchMessage{Host: tg.HostName, Next: after[tg.HostID]}
			err := logsOf(tx, d.ID, tg.HostID, after[tg.HostID], func(seq uint64, raw []byte) error {
				var lines []pub.LogLine
				if err := json.Unmarshal(raw, &lines); err != nil {
					return err
				}
				m.Lines = append(m.Lines, lines...)
				m.Next = seq
				return nil
			})
			if err != nil {
				return err
			}
			if len(m.Lines) > 0 {
				after[tg.HostID] = m.Next
				out = append(out, m)
			}
		}
		return nil
	})
	return out, err
}
