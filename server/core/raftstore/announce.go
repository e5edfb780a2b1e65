package raftstore

import (
	"sync"

	"github.com/hashicorp/raft"
)

// Followers learn that an entry committed from the leader's next AppendEntries, and
// hashicorp/raft sends one only when a new entry is appended or its commit timeout (10 ms to
// 20 ms here) runs out: its heartbeats carry no commit index. So a follower applied each entry
// one message late, and an agent whose session is on a follower got its work that much later
// than one on the leader (14 ms at the median on an idle cluster here, more under load).
//
// announcingTransport is the leader's Raft transport with one addition: once entries have
// committed (announce, called by announcingFSM as the leader starts applying them), it sends each
// follower that has acknowledged the committed entry (at once, or when its acknowledgement comes)
// an AppendEntries with no entries, its previous entry being the committed one and its commit
// index that entry's index: the message hashicorp/raft's commit timer would send, sent at once.
// A follower that has the entry (it acknowledged it in this term) commits and applies up to it,
// with no disk write; one that does not (the leader changed since) refuses it as a stale or
// unmatched message, which changes nothing. The reply is dropped: Raft's own replication keeps
// the follower's progress. It adds no log entries, so the log's commands are untouched.
//
// At most one announcement is in flight per follower; commits meanwhile are announced by the
// next one.
type announcingTransport struct {
	*raft.NetworkTransport
	mu         sync.Mutex
	peers      map[raft.ServerID]*peerProgress
	commit     uint64 // the last commit announced, an entry of commitTerm
	commitTerm uint64
}

// peerProgress is what a follower acknowledged and was told.
type peerProgress struct {
	addr   raft.ServerAddress
	header raft.RPCHeader
	leader []byte
	term   uint64
	acked  uint64 // highest entry acknowledged in term
	told   uint64 // highest commit announced in term
	busy   bool   // an announcement is in flight
}

func newAnnouncingTransport(t *raft.NetworkTransport) *announcingTransport {
	return &announcingTransport{NetworkTransport: t, peers: map[raft.ServerID]*peerProgress{}}
}

// acked records a follower's successful reply to an AppendEntries carrying entries.
func (t *announcingTransport) acked(id raft.ServerID, addr raft.ServerAddress, req *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) {
	if resp == nil || !resp.Success || len(req.Entries) == 0 {
		return
	}
	last := req.Entries[len(req.Entries)-1].Index
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.peers[id]
	if p == nil {
		p = &peerProgress{}
		t.peers[id] = p
	}
	switch {
	case req.Term > p.term:
		p.term, p.acked, p.told = req.Term, last, 0
	case req.Term == p.term:
		p.acked = max(p.acked, last)
	default:
		return
	}
	p.addr, p.header, p.leader = addr, req.RPCHeader, req.Leader //nolint:staticcheck // sent as Raft sends it, for followers that read only Leader
	t.kick(id, p)
}

// AppendEntries implements raft.Transport, noting what the follower acknowledged.
func (t *announcingTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	err := t.NetworkTransport.AppendEntries(id, target, args, resp)
	if err == nil {
		t.acked(id, target, args, resp)
	}
	return err
}

// AppendEntriesPipeline implements raft.Transport, noting what the follower acknowledged.
func (t *announcingTransport) AppendEntriesPipeline(id raft.ServerID, target raft.ServerAddress) (raft.AppendPipeline, error) {
	p, err := t.NetworkTransport.AppendEntriesPipeline(id, target)
	if err != nil {
		return nil, err
	}
	out := &notingPipeline{AppendPipeline: p, ch: make(chan raft.AppendFuture, cap(p.Consumer())), done: make(chan struct{})}
	// out.ch is never closed, as raft's own pipeline never closes its consumer channel: raft's
	// pipelineDecode reads it until its stop channel says otherwise, and a closed channel would
	// hand it a nil future (a nil-pointer panic in raft when a pipeline closes under load).
	go func() {
		in := p.Consumer()
		for {
			var f raft.AppendFuture
			var ok bool
			select {
			case f, ok = <-in:
			case <-out.done:
				return
			}
			if !ok || f == nil {
				return // the pipeline ended
			}
			if f.Error() == nil {
				t.acked(id, target, f.Request(), f.Response())
			}
			select {
			case out.ch <- f:
			case <-out.done:
				return
			}
		}
	}()
	return out, nil
}

// notingPipeline passes a pipeline's replies on after the transport noted them.
type notingPipeline struct {
	raft.AppendPipeline
	ch   chan raft.AppendFuture
	once sync.Once
	done chan struct{}
}

func (p *notingPipeline) Consumer() <-chan raft.AppendFuture { return p.ch }

func (p *notingPipeline) Close() error {
	p.once.Do(func() { close(p.done) })
	return p.AppendPipeline.Close()
}

// announce tells the followers that entry index, of term, has committed.
func (t *announcingTransport) announce(index, term uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if term < t.commitTerm || (term == t.commitTerm && index <= t.commit) {
		return
	}
	t.commit, t.commitTerm = index, term
	for id, p := range t.peers {
		t.kick(id, p)
	}
}

// due returns the commit to announce to a follower next, or 0 (t.mu held).
func (t *announcingTransport) due(p *peerProgress) uint64 {
	if p.term != t.commitTerm || p.acked < t.commit || p.told >= t.commit {
		return 0
	}
	return t.commit
}

// kick starts announcing to a follower if a commit is due and none is in flight (t.mu held).
func (t *announcingTransport) kick(id raft.ServerID, p *peerProgress) {
	if !p.busy && t.due(p) > 0 {
		p.busy = true
		go t.send(id, p)
	}
}

// send announces due commits to a follower until none is.
func (t *announcingTransport) send(id raft.ServerID, p *peerProgress) {
	for {
		t.mu.Lock()
		index := t.due(p)
		if index == 0 {
			p.busy = false
			t.mu.Unlock()
			return
		}
		p.told = index
		req := raft.AppendEntriesRequest{RPCHeader: p.header, Term: p.term, Leader: p.leader, //nolint:staticcheck // as Raft sends it
			PrevLogEntry: index, PrevLogTerm: p.term, LeaderCommitIndex: index}
		addr := p.addr
		t.mu.Unlock()
		var resp raft.AppendEntriesResponse
		_ = t.NetworkTransport.AppendEntries(id, addr, &req, &resp)
	}
}

// announcingFSM is the FSM as Raft drives it: entries reach ApplyBatch once committed, so on the
// leader it announces their commit before applying them, and the followers apply a big entry
// alongside the leader rather than after it.
type announcingFSM struct {
	raft.BatchingFSM
	n *Node
}

// ApplyBatch implements raft.BatchingFSM.
func (f announcingFSM) ApplyBatch(logs []*raft.Log) []any {
	if len(logs) > 0 && f.n.raft != nil && f.n.raft.State() == raft.Leader {
		last := logs[len(logs)-1]
		f.n.announce.announce(last.Index, last.Term)
	}
	return f.BatchingFSM.ApplyBatch(logs)
}
