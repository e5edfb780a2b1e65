package api

import "time"

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

// RaftServer is one member of the Raft configuration. A member stays in the configuration when
// it stops: Reachable and LastContact say whether it runs, as the server that answered sees it
// (RaftConfiguration.ObservedBy), which probes every other member each second over the cluster
// port.
type RaftServer struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	HTTPAddr string `json:"http_addr,omitempty"`
	Leader   bool   `json:"leader"`
	Voter    bool   `json:"voter"`
	// Reachable: it answered the observing server within the last 3 seconds (the observer itself
	// always is).
	Reachable bool `json:"reachable"`
	// LastContact is when it last answered the observing server; absent when it has not since
	// that server started. LastContactAgeMS is how long before the answer that was, in
	// milliseconds, measured on the observing server (so clocks need not agree).
	LastContact      *time.Time `json:"last_contact,omitempty"`
	LastContactAgeMS *int64     `json:"last_contact_age_ms,omitempty"`
}

// RaftConfiguration is the answer of GET /v1/operator/raft.
type RaftConfiguration struct {
	Servers []RaftServer `json:"servers"`
	Index   uint64       `json:"index"`
	// ObservedBy is the server that answered, whose view Reachable and LastContact are.
	ObservedBy string `json:"observed_by,omitempty"`
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
