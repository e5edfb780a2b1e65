package api

import (
	"net/http"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
)

func (s *Server) raftConfiguration(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if err := s.readBarrier(r); err != nil {
		return err
	}
	servers, index, err := s.cfg.Cluster.Configuration()
	if err != nil {
		return fault.New(fault.Unavailable, "read raft configuration: %v", err)
	}
	out := pub.RaftConfiguration{Index: index, Servers: []pub.RaftServer{}, ObservedBy: s.cfg.Cluster.ID()}
	now := time.Now()
	for _, sv := range servers {
		ps := pub.RaftServer{ID: sv.ID, RaftAddr: sv.RaftAddr, HTTPAddr: sv.HTTPAddr, Leader: sv.Leader, Voter: sv.Voter, Reachable: sv.Reachable}
		if !sv.LastContact.IsZero() {
			last, age := sv.LastContact.UTC(), max(now.Sub(sv.LastContact), 0).Milliseconds()
			ps.LastContact, ps.LastContactAgeMS = &last, &age
		}
		out.Servers = append(out.Servers, ps)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) raftRemovePeer(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if !s.cfg.Cluster.IsLeader() {
		return s.proxyToLeader(w, r)
	}
	id := r.PathValue("id")
	servers, _, err := s.cfg.Cluster.Configuration()
	if err != nil {
		return fault.New(fault.Unavailable, "read raft configuration: %v", err)
	}
	found := false
	for _, sv := range servers {
		found = found || sv.ID == id
	}
	if !found {
		return fault.New(fault.NotFound, "no server %q in the raft configuration: see slipway operator raft list-peers", id)
	}
	if id == s.cfg.Cluster.ID() && len(servers) > 1 {
		return fault.New(fault.Conflict, "%q is the leader answering this request: stop it (leadership moves on) or remove it through another server", id)
	}
	if err := s.cfg.Cluster.RemoveServer(id); err != nil {
		return fault.New(fault.Unavailable, "remove %s: %v", id, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) snapshotSave(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if !s.cfg.Cluster.IsLeader() {
		return s.proxyToLeader(w, r)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="slipway.snap"`)
	return s.cfg.Cluster.SnapshotSave(r.Context(), w)
}

func (s *Server) snapshotRestore(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if !s.cfg.Cluster.IsLeader() {
		return s.proxyToLeader(w, r)
	}
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxSnapshotBytes)
	if err := s.cfg.Cluster.SnapshotRestore(r.Context(), body); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "restored"})
	return nil
}
