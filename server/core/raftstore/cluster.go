package raftstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/hashicorp/raft"

	"github.com/slipwayhq/slipway/internal/version"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/state"
)

func (n *Node) clusterID() string {
	var id string
	_ = n.store.View(func(tx *state.Tx) error { id = tx.ClusterID(); return nil })
	return id
}

func (n *Node) status() StatusReply {
	addr, id := n.raft.LeaderWithID()
	r := StatusReply{
		NodeID: n.cfg.NodeID, RaftAddr: n.cfg.Advertise, HTTPAddr: n.cfg.HTTPAddr,
		ClusterID: n.clusterID(), LeaderID: string(id), LeaderAddr: string(addr),
	}
	if r.ClusterID == "" {
		n.idMu.Lock()
		r.ClusterID = n.id.ClusterID
		n.idMu.Unlock()
	}
	if f := n.raft.GetConfiguration(); f.Error() == nil {
		r.HasState = len(f.Configuration().Servers) > 0
	}
	return r
}

// checkJoinPeers refuses to start a data dir that belongs to another cluster than the servers
// it is told to join. Unreachable peers are not an error: they may be starting too.
func (n *Node) checkJoinPeers() error {
	if n.id.ClusterID == "" {
		return nil
	}
	for _, addr := range n.cfg.Join {
		if addr == n.cfg.Advertise {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var st StatusReply
		err := n.pool.call(ctx, addr, "Status", StatusArgs{}, &st)
		cancel()
		if err == nil && st.ClusterID != "" && st.ClusterID != n.id.ClusterID {
			return fmt.Errorf("%w: %s belongs to cluster %s, but --join server %s is in cluster %s: give this node an empty --data-dir to join that cluster",
				ErrDataDir, n.cfg.DataDir, n.id.ClusterID, addr, st.ClusterID)
		}
	}
	return nil
}

// formCluster brings a node with no Raft state into a cluster: a single-node bootstrap, a joint
// bootstrap once BootstrapExpect fresh servers see each other, or a join through any server that
// knows a leader. It retries until the node is in a configuration or shuts down.
func (n *Node) formCluster() {
	log := n.cfg.Logger
	if n.cfg.BootstrapExpect == 1 && len(n.cfg.Join) == 0 {
		n.bootstrap([]raft.Server{{ID: raft.ServerID(n.cfg.NodeID), Address: raft.ServerAddress(n.cfg.Advertise), Suffrage: raft.Voter}})
		return
	}
	backoff := 100 * time.Millisecond
	lastNote := time.Time{}
	for !n.isStopped() {
		if n.inConfiguration() {
			return
		}
		peers := n.probePeers()
		for _, st := range peers {
			if st.LeaderAddr != "" && n.joinVia(st.LeaderAddr) {
				return
			}
		}
		if n.cfg.BootstrapExpect > 1 && n.tryJointBootstrap(peers) {
			return
		}
		if time.Since(lastNote) > 10*time.Second {
			log.Info("waiting to form or join a cluster", "expect", n.cfg.BootstrapExpect, "join", n.cfg.Join, "peers_seen", len(peers))
			lastNote = time.Now()
		}
		select {
		case <-time.After(backoff):
		case <-n.stop:
			return
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

func (n *Node) inConfiguration() bool {
	f := n.raft.GetConfiguration()
	return f.Error() == nil && len(f.Configuration().Servers) > 0
}

func (n *Node) probePeers() []StatusReply {
	var out []StatusReply
	for _, addr := range n.cfg.Join {
		if addr == n.cfg.Advertise {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		var st StatusReply
		err := n.pool.call(ctx, addr, "Status", StatusArgs{}, &st)
		cancel()
		if err == nil && st.NodeID != n.cfg.NodeID {
			out = append(out, st)
		}
	}
	return out
}

// tryJointBootstrap bootstraps when exactly BootstrapExpect distinct fresh servers (this one
// included) are visible and none is in a cluster yet. Every one of them computes the same
// configuration, so their bootstraps agree.
func (n *Node) tryJointBootstrap(peers []StatusReply) bool {
	servers := map[string]string{n.cfg.NodeID: n.cfg.Advertise}
	for _, st := range peers {
		if st.HasState {
			return false // a cluster is forming; join it once it has a leader
		}
		servers[st.NodeID] = st.RaftAddr
	}
	if len(servers) != n.cfg.BootstrapExpect {
		if len(servers) > n.cfg.BootstrapExpect {
			n.cfg.Logger.Warn("more fresh servers visible than --bootstrap-expect; not bootstrapping", "seen", len(servers), "expect", n.cfg.BootstrapExpect)
		}
		return false
	}
	conf := make([]raft.Server, 0, len(servers))
	for id, addr := range servers {
		conf = append(conf, raft.Server{ID: raft.ServerID(id), Address: raft.ServerAddress(addr), Suffrage: raft.Voter})
	}
	sort.Slice(conf, func(i, j int) bool { return conf[i].ID < conf[j].ID })
	n.bootstrap(conf)
	return true
}

func (n *Node) bootstrap(conf []raft.Server) {
	err := n.raft.BootstrapCluster(raft.Configuration{Servers: conf}).Error()
	if err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
		n.cfg.Logger.Error("bootstrap failed", "error", err)
		return
	}
	n.cfg.Logger.Info("bootstrapped cluster", "servers", len(conf))
}

func (n *Node) joinVia(leaderAddr string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n.idMu.Lock()
	args := JoinArgs{NodeID: n.cfg.NodeID, RaftAddr: n.cfg.Advertise, ClusterID: n.id.ClusterID}
	n.idMu.Unlock()
	var reply JoinReply
	err := n.pool.call(ctx, leaderAddr, "Join", args, &reply)
	switch {
	case err != nil:
		n.cfg.Logger.Debug("join attempt failed", "leader", leaderAddr, "error", err)
		return false
	case reply.Refused != "":
		n.cfg.Logger.Error("join refused", "leader", leaderAddr, "reason", reply.Refused)
		return false
	case reply.NotLeader:
		return false
	}
	n.cfg.Logger.Info("joined cluster", "via", leaderAddr)
	return true
}

// addVoter runs on the leader for a Join RPC.
func (n *Node) addVoter(a JoinArgs) (refused string, err error) {
	if cid := n.clusterID(); a.ClusterID != "" && cid != "" && a.ClusterID != cid {
		return fmt.Sprintf("node %s belongs to cluster %s, this is cluster %s: start it on an empty --data-dir to join", a.NodeID, a.ClusterID, cid), nil
	}
	if a.NodeID == "" || a.RaftAddr == "" {
		return "join needs a node id and an address", nil
	}
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return "", err
	}
	for _, s := range f.Configuration().Servers {
		switch {
		case string(s.ID) == a.NodeID && string(s.Address) == a.RaftAddr:
			return "", nil
		case string(s.ID) != a.NodeID && string(s.Address) == a.RaftAddr:
			// Another ID at the same address: the old server was wiped and came back new.
			if err := n.raft.RemoveServer(s.ID, 0, 0).Error(); err != nil {
				return "", err
			}
		}
	}
	return "", n.raft.AddVoter(raft.ServerID(a.NodeID), raft.ServerAddress(a.RaftAddr), 0, 0).Error()
}

// registerLoop keeps this node's record (HTTP address, version) in the replicated state, so any
// server can tell clients and agents where every other server is, and persists the cluster ID
// into node.json once known.
func (n *Node) registerLoop() {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-n.stop:
			return
		}
		n.persistClusterID()
		if addr, _ := n.raft.LeaderWithID(); addr == "" {
			continue
		}
		var cur state.Node
		var found bool
		_ = n.store.View(func(tx *state.Tx) error {
			var err error
			cur, found, err = tx.GetNode(n.cfg.NodeID)
			return err
		})
		if found && cur.RaftAddr == n.cfg.Advertise && cur.HTTPAddr == n.cfg.HTTPAddr && cur.Version == version.Version {
			continue
		}
		c, _ := command.New(command.TypeNodeRegister, "", time.Now(), command.NodeRegister{
			NodeID: n.cfg.NodeID, RaftAddr: n.cfg.Advertise, HTTPAddr: n.cfg.HTTPAddr, Version: version.Version,
		})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if _, err := n.Apply(ctx, c); err != nil {
			n.cfg.Logger.Debug("node registration deferred", "error", err)
		}
		cancel()
	}
}

func (n *Node) persistClusterID() {
	cid := n.clusterID()
	if cid == "" {
		return
	}
	n.idMu.Lock()
	defer n.idMu.Unlock()
	switch n.id.ClusterID {
	case cid:
		return
	case "":
		n.id.ClusterID = cid
		if err := writeIdentity(n.cfg.DataDir, n.id); err != nil {
			n.cfg.Logger.Error("could not record the cluster id", "error", err)
		}
	default:
		n.cfg.Logger.Error("this data dir was made for another cluster", "data_dir_cluster", n.id.ClusterID, "cluster", cid)
	}
}

// Server is one member of the Raft configuration as the API shows it.
type Server struct {
	ID       string
	RaftAddr string
	HTTPAddr string
	Leader   bool
	Voter    bool
	// Reachable: the server answered this server's probe within the last few seconds (see
	// contact.go); this server itself always is.
	Reachable bool
	// LastContact is when it last answered this server's probe: zero if it has not since this
	// server started; now for this server itself.
	LastContact time.Time
}

// Configuration returns the current Raft configuration and its index, with each member's
// reachability as this server sees it.
func (n *Node) Configuration() ([]Server, uint64, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, 0, err
	}
	_, leaderID := n.raft.LeaderWithID()
	nodes := map[string]state.Node{}
	_ = n.store.View(func(tx *state.Tx) error {
		list, err := tx.ListNodes()
		for _, nd := range list {
			nodes[nd.ID] = nd
		}
		return err
	})
	var out []Server
	now := time.Now()
	for _, s := range f.Configuration().Servers {
		last, reachable := n.contact(string(s.ID), now)
		out = append(out, Server{
			ID: string(s.ID), RaftAddr: string(s.Address), HTTPAddr: nodes[string(s.ID)].HTTPAddr,
			Leader: s.ID == leaderID, Voter: s.Suffrage == raft.Voter, Reachable: reachable, LastContact: last,
		})
	}
	return out, f.Index(), nil
}

// Leader returns the leader's ID and Raft address ("" when none is known) and its HTTP address
// when registered.
func (n *Node) Leader() (id, raftAddr, httpAddr string) {
	addr, lid := n.raft.LeaderWithID()
	id, raftAddr = string(lid), string(addr)
	if id == n.cfg.NodeID {
		return id, raftAddr, n.cfg.HTTPAddr
	}
	_ = n.store.View(func(tx *state.Tx) error {
		nd, ok, err := tx.GetNode(id)
		if ok {
			httpAddr = nd.HTTPAddr
		}
		return err
	})
	return id, raftAddr, httpAddr
}

// RemoveServer removes a server from the configuration; it must run on the leader.
func (n *Node) RemoveServer(id string) error {
	return n.raft.RemoveServer(raft.ServerID(id), 0, 0).Error()
}
