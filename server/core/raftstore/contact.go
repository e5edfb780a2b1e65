package raftstore

import (
	"context"
	"sync"
	"time"
)

// Reachability of peers, as `operator raft list-peers` shows it. The Raft configuration lists
// every member whether it runs or not, and hashicorp/raft shows no other server's liveness (its
// LastContact is a follower's view of the leader; the leader's replication state is private and
// its heartbeat observations are dropped when an observer is slow). So every server probes every
// other member of the configuration on its own: a Status RPC over the cluster port, the
// connection Raft uses, once per probeEvery. A peer is reachable while its last answer is at most
// reachableWithin old: one slow answer does not flip it, a stopped server shows unreachable within
// a few seconds, on every server and with or without a leader.
const (
	probeEvery      = time.Second
	probeTimeout    = time.Second
	reachableWithin = 3 * probeEvery
)

// contacts is when each peer (by node ID) last answered this server's probe.
type contacts struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (c *contacts) seen(id string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		c.last = map[string]time.Time{}
	}
	c.last[id] = at
}

func (c *contacts) get(id string) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last[id]
}

// contactLoop probes the other members of the configuration until the node stops.
func (n *Node) contactLoop() {
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-n.stop:
			return
		}
		f := n.raft.GetConfiguration()
		if f.Error() != nil {
			continue
		}
		var wg sync.WaitGroup
		for _, s := range f.Configuration().Servers {
			id, addr := string(s.ID), string(s.Address)
			if id == n.cfg.NodeID {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
				defer cancel()
				var st StatusReply
				// A server that answers as another node (an address reused) is not this peer.
				if err := n.pool.call(ctx, addr, "Status", StatusArgs{}, &st); err == nil && st.NodeID == id {
					n.contacts.seen(id, time.Now())
				}
			}()
		}
		wg.Wait()
	}
}

// contact reports when peer id last answered this server, and whether that is recent enough to
// call it reachable. This server itself is always reachable, in contact now.
func (n *Node) contact(id string, now time.Time) (last time.Time, reachable bool) {
	if id == n.cfg.NodeID {
		return now, true
	}
	last = n.contacts.get(id)
	return last, !last.IsZero() && now.Sub(last) <= reachableWithin
}
