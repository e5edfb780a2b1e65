package api

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/slipwayhq/slipway/internal/version"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
)

func contextWithTimeout(r *http.Request, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), d)
}

// health answers 200 when this node is in a cluster with a leader, 503 otherwise.
func (s *Server) health(w http.ResponseWriter, _ *http.Request, _ *auth.Identity) error {
	leaderID, _, _ := s.cfg.Cluster.Leader()
	h := pub.Health{Status: "ok", NodeID: s.cfg.Cluster.ID(), RaftState: s.cfg.Cluster.RaftState(), Leader: leaderID, Version: version.Version}
	status := http.StatusOK
	if leaderID == "" {
		h.Status, status = "degraded", http.StatusServiceUnavailable
	}
	writeJSON(w, status, h)
	return nil
}

func (s *Server) statusLeader(w http.ResponseWriter, _ *http.Request, _ *auth.Identity) error {
	id, raftAddr, httpAddr := s.cfg.Cluster.Leader()
	if id == "" {
		return fault.New(fault.NoLeader, "the cluster has no leader: check that a majority of servers are up")
	}
	writeJSON(w, http.StatusOK, pub.Leader{ID: id, RaftAddr: raftAddr, HTTPAddr: httpAddr})
	return nil
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}

// statusServers lists the cluster's servers and their API addresses for any token: what a
// client needs to reach another server when the one it uses goes away, and what `slipway status`
// shows. It reads this server's Raft configuration (no barrier: a client that lost its server
// wants an answer from whichever is left).
func (s *Server) statusServers(w http.ResponseWriter, _ *http.Request, _ *auth.Identity) error {
	servers, _, err := s.cfg.Cluster.Configuration()
	if err != nil {
		return fault.New(fault.Unavailable, "read raft configuration: %v", err)
	}
	out := pub.ServerList{Servers: []pub.ClusterServer{}}
	for _, sv := range servers {
		out.Servers = append(out.Servers, pub.ClusterServer{ID: sv.ID, HTTPAddr: sv.HTTPAddr, Leader: sv.Leader, Voter: sv.Voter})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
