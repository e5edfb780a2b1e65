package deploy

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestWatchGapGrowsWithTheFleetAndIsBounded: a watch's rounds are spaced in proportion to the
// deployment's hosts, never more than watchGapMax apart; pace waits for the rest of the gap and
// gives up when its context ends.
func TestWatchGapGrowsWithTheFleetAndIsBounded(t *testing.T) {
	for hosts, want := range map[int]time.Duration{0: 0, 1: 20 * time.Microsecond, 100: 2 * time.Millisecond,
		10_000: 200 * time.Millisecond, 1_000_000: time.Second} {
		if got := watchGap(hosts); got != want {
			t.Errorf("watchGap(%d) = %v, want %v", hosts, got, want)
		}
	}
	if err := pace(context.Background(), time.Time{}, time.Hour); err != nil {
		t.Errorf("the first round waited: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := pace(ctx, time.Now(), time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("pace with a cancelled context = %v, want context.Canceled", err)
	}
}
