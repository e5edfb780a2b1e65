package api

import (
	"net/http"
	"net/http/httputil"
	"net/url"

	"github.com/slipwayhq/slipway/server/core/fault"
)

const forwardedHeader = "X-Slipway-Forwarded-By"

// proxyToLeader passes a request that only the leader can serve (snapshots, membership changes)
// to the leader's HTTP address, streaming both ways. The caller's token travels with it and is
// checked again there. A request is forwarded at most once.
func (s *Server) proxyToLeader(w http.ResponseWriter, r *http.Request) error {
	if r.Header.Get(forwardedHeader) != "" {
		return fault.New(fault.NoLeader, "leadership changed while forwarding: retry")
	}
	id, _, httpAddr := s.cfg.Cluster.Leader()
	if id == "" || httpAddr == "" {
		return fault.New(fault.NoLeader, "the cluster has no reachable leader: retry once a majority of servers are up")
	}
	target, err := url.Parse(httpAddr)
	if err != nil {
		return fault.New(fault.Internal, "leader %s registered a bad address %q", id, httpAddr)
	}
	var proxyErr error
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Header.Set(forwardedHeader, s.cfg.Cluster.ID())
		},
		Transport:     s.cfg.LeaderTransport,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			proxyErr = fault.New(fault.NoLeader, "forward to leader %s at %s: %v", id, httpAddr, err)
		},
	}
	p.ServeHTTP(w, r)
	return proxyErr
}
