package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
)

// benchRoutes is every token route of a real server (the core's and all services'), with a
// request carrying its path values.
func benchRoutes(b *testing.B) (*api.Server, []api.RouteInfo, []*http.Request, *testutil.Cluster) {
	c := testutil.NewCluster(b, 1)
	srv := api.New(api.Config{Routes: c.Server(0).ServiceRoutes()})
	var routes []api.RouteInfo
	var reqs []*http.Request
	for _, rt := range srv.Routes() {
		if rt.Access == api.AnyToken || rt.Access == api.Management {
			r := routeRequest(rt)
			r.RemoteAddr = "192.0.2.7:41234"
			routes, reqs = append(routes, rt), append(reqs, r)
		}
	}
	return srv, routes, reqs, c
}

// BenchmarkAuthorize is the edge's authorization of one request by policy (resource filled
// from the path, context built, the caller's policies evaluated, the Management gate), a
// management token taking every token route in turn.
func BenchmarkAuthorize(b *testing.B) {
	srv, routes, reqs, _ := benchRoutes(b)
	id := tokenIdentity(pub.TokenTypeManagement)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(routes)
		if err := srv.Authorize(routes[k].Method, routes[k].Pattern, reqs[k], id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthorizeReadOnly: the same for a client token over its AnyToken routes only
// (every one allowed), ReadOnlyAccess's longer action list.
func BenchmarkAuthorizeReadOnly(b *testing.B) {
	srv, routes, reqs, _ := benchRoutes(b)
	var rs []api.RouteInfo
	var qs []*http.Request
	for i, rt := range routes {
		if rt.Access == api.AnyToken {
			rs, qs = append(rs, rt), append(qs, reqs[i])
		}
	}
	id := tokenIdentity(pub.TokenTypeClient)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(rs)
		if err := srv.Authorize(rs[k].Method, rs[k].Pattern, qs[k], id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAccessLevelCheck is the reference: the check the edge made before policies (the
// Access level against the token type), over the same routes.
func BenchmarkAccessLevelCheck(b *testing.B) {
	_, routes, _, _ := benchRoutes(b)
	id := tokenIdentity(pub.TokenTypeManagement)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if routes[i%len(routes)].Access == api.Management && !id.Management() {
			b.Fatal("refused")
		}
	}
}

// BenchmarkAuthenticate is the second reference: what every token request already pays before
// authorization, resolving the bearer secret (SHA-256, then a state lookup by hash).
func BenchmarkAuthenticate(b *testing.B) {
	_, _, _, c := benchRoutes(b)
	st := c.Server(0).Node().State()
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := auth.Resolve(st, testutil.ManagementToken, now); err != nil {
			b.Fatal(err)
		}
	}
}
