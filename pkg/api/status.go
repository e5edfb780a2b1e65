package api

// Health is the answer of GET /v1/health (no token needed). Status is "ok" when the node is a
// member of a cluster that has a leader, "degraded" otherwise (HTTP 503).
type Health struct {
	Status    string `json:"status"`
	NodeID    string `json:"node_id"`
	RaftState string `json:"raft_state"`
	Leader    string `json:"leader,omitempty"`
	Version   string `json:"version"`
}

// Leader is the answer of GET /v1/status/leader.
type Leader struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	HTTPAddr string `json:"http_addr,omitempty"`
}

// RaftServer is one member of the Raft configuration.
type RaftServer struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	HTTPAddr string `json:"http_addr,omitempty"`
	Leader   bool   `json:"leader"`
	Voter    bool   `json:"voter"`
}

// RaftConfiguration is the answer of GET /v1/operator/raft.
type RaftConfiguration struct {
	Servers []RaftServer `json:"servers"`
	Index   uint64       `json:"index"`
}

// ClusterServer is one server of the cluster as GET /v1/status/servers shows it.
type ClusterServer struct {
	ID       string `json:"id"`
	HTTPAddr string `json:"http_addr,omitempty"`
	Leader   bool   `json:"leader"`
	Voter    bool   `json:"voter"`
}

// ServerList is the answer of GET /v1/status/servers: every server of the cluster, for any
// token.
type ServerList struct {
	Servers []ClusterServer `json:"servers"`
}
