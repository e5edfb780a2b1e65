package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// TestListPeersShowsAStoppedServerUnreachable: on a real 3-node cluster, `operator raft
// list-peers` through a surviving server first shows every server reachable, and shows a killed
// one (still in the configuration as a follower) unreachable with the age of its last contact,
// in the table and in JSON.
func TestListPeersShowsAStoppedServerUnreachable(t *testing.T) {
	c := testutil.NewCluster(t, 3)
	leader := c.WaitLeader()
	killed := (leader + 1) % 3
	cli := func(args ...string) result {
		return runWith(t, context.Background(), nil, append([]string{"--addr", c.URL(leader), "--token", testutil.ManagementToken}, args...)...)
	}
	peers := func() (map[string]api.RaftServer, api.RaftConfiguration, error) {
		r := cli("operator", "raft", "list-peers", "--output", "json")
		var conf api.RaftConfiguration
		if r.code != 0 {
			return nil, conf, fmt.Errorf("list-peers: exit %d: %s", r.code, r.stderr)
		}
		if err := json.Unmarshal([]byte(r.stdout), &conf); err != nil {
			return nil, conf, err
		}
		out := map[string]api.RaftServer{}
		for _, s := range conf.Servers {
			out[s.ID] = s
		}
		return out, conf, nil
	}
	testutil.Eventually(t, 30*time.Second, func() error {
		got, _, err := peers()
		if err != nil {
			return err
		}
		for i := range 3 {
			s := got[c.Config(i).NodeID]
			if !s.Reachable || s.LastContact == nil || s.LastContactAgeMS == nil {
				return fmt.Errorf("server %s before the kill: %+v; want reachable with a last contact", c.Config(i).NodeID, s)
			}
		}
		return nil
	})

	c.Kill(killed)
	id := c.Config(killed).NodeID
	var last api.RaftServer
	testutil.Eventually(t, 30*time.Second, func() error {
		got, conf, err := peers()
		if err != nil {
			return err
		}
		if conf.ObservedBy != c.Config(leader).NodeID {
			return fmt.Errorf("observed by %q, want %q", conf.ObservedBy, c.Config(leader).NodeID)
		}
		last = got[id]
		if last.ID != id || last.Reachable || last.Leader {
			return fmt.Errorf("killed server %s: %+v; want listed, unreachable", id, last)
		}
		for i := range 3 {
			if s := got[c.Config(i).NodeID]; i != killed && !s.Reachable {
				return fmt.Errorf("live server %s shown unreachable: %+v", s.ID, s)
			}
		}
		return nil
	})
	if last.LastContact == nil || last.LastContactAgeMS == nil || *last.LastContactAgeMS < 0 {
		t.Fatalf("the killed server's last contact: %+v; want when it last answered", last)
	}
	r := cli("operator", "raft", "list-peers")
	var row string
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(line, id+" ") {
			row = line
		}
	}
	if f := strings.Fields(row); r.code != 0 || len(f) != 7 || f[3] != "follower" || f[5] != "false" || !strings.HasSuffix(f[6], "s") {
		t.Fatalf("table row of the killed server %q (exit %d):\n%s", row, r.code, r.stdout)
	}
}
