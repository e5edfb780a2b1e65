package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/pkg/api"
)

// liveTable redraws a deployment's per-host table in place on a terminal: each host's state, the
// event it is in (or ended in) and its elapsed time, under an overall progress bar.
type liveTable struct {
	w     io.Writer
	lines int // lines drawn last time, to move back over
}

func (t *liveTable) draw(d *api.Deployment, now time.Time) {
	var b strings.Builder
	if t.lines > 0 {
		fmt.Fprintf(&b, "\x1b[%dA\x1b[J", t.lines)
	}
	done := 0
	for _, tg := range d.Targets {
		switch tg.Status {
		case "succeeded", "failed", "skipped", "stopped":
			done++
		}
	}
	const width = 30
	filled := 0
	if len(d.Targets) > 0 {
		filled = width * done / len(d.Targets)
	}
	fmt.Fprintf(&b, "%s [%s%s] %d/%d hosts  %s\n", d.ID, strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, len(d.Targets), d.Status)
	fmt.Fprintf(&b, "  %-20s %-12s %-18s %s\n", "HOST", "STATE", "EVENT", "ELAPSED")
	for _, tg := range d.Targets {
		event, start, end := "", (*time.Time)(nil), (*time.Time)(nil)
		for _, e := range tg.Events {
			if e.Script != "" || e.Status == "skipped" {
				continue
			}
			event = e.Name
			if start == nil {
				start = e.Start
			}
			end = e.End
		}
		elapsed := ""
		if start != nil {
			stop := now
			if end != nil && tg.Status != "in_progress" && tg.Status != "pending" {
				stop = *end
			}
			elapsed = stop.Sub(*start).Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(&b, "  %-20s %-12s %-18s %s\n", tg.Host, tg.Status, event, elapsed)
	}
	t.lines = 2 + len(d.Targets)
	_, _ = io.WriteString(t.w, b.String())
}
