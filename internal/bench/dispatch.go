package bench

import (
	"slices"
	"sort"
	"time"

	"github.com/slipwayhq/slipway/internal/simagent"
)

// dispatchFigures are a run's dispatch latencies (see the command's help).
type dispatchFigures struct {
	first, later, all Latency
	// the first wave split by where the host's session was: on the leader or on a follower
	firstOnLeader, firstOnFollowers Latency
	dups                            int
}

// dispatchLatencies computes the dispatch figures from what the agents saw: created is when the
// leader applied the create, leaderURL the leader's base URL.
func dispatchLatencies(recs []simagent.Record, firstWave map[string]bool, created time.Time, leaderURL string, tl *applyTimeline) dispatchFigures {
	var out dispatchFigures
	var fw, fwLeader, fwFollowers, lw []time.Duration
	var laterRuns, frees []time.Time
	for _, r := range recs {
		out.dups += r.Runs - 1
		if !r.EndAckAt.IsZero() {
			f := r.EndAckAt
			if t, ok := tl.before(r.EndAckAt); ok {
				f = t
			}
			frees = append(frees, f)
		}
		if firstWave[r.Host] {
			lat := r.RunAt.Sub(created)
			fw = append(fw, lat)
			if r.Server == leaderURL {
				fwLeader = append(fwLeader, lat)
			} else {
				fwFollowers = append(fwFollowers, lat)
			}
		} else {
			laterRuns = append(laterRuns, r.RunAt)
		}
	}
	sort.Slice(laterRuns, func(i, j int) bool { return laterRuns[i].Before(laterRuns[j]) })
	sort.Slice(frees, func(i, j int) bool { return frees[i].Before(frees[j]) })
	for k, r := range laterRuns {
		if k >= len(frees) {
			break
		}
		lw = append(lw, max(0, r.Sub(frees[k])))
	}
	all := append(slices.Clone(fw), lw...)
	out.first, out.later, out.all = summarize(fw), summarize(lw), summarize(all)
	out.firstOnLeader, out.firstOnFollowers = summarize(fwLeader), summarize(fwFollowers)
	return out
}

func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	pct := func(p float64) time.Duration {
		i := int(float64(len(ds))*p+0.999999) - 1 // nearest rank
		return ds[min(max(i, 0), len(ds)-1)]
	}
	return Latency{Hosts: len(ds), P50Ms: ms(pct(0.50)), P99Ms: ms(pct(0.99)), MaxMs: ms(ds[len(ds)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
