package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/server/core/api"
)

// barrierCluster is a real node whose consistent read fails on demand and counts its calls,
// and which claims leadership, as a server just elected does.
type barrierCluster struct {
	api.Cluster
	fail  atomic.Bool
	reads atomic.Int32
}

func (b *barrierCluster) IsLeader() bool { return true }

func (b *barrierCluster) ConsistentRead(ctx context.Context) error {
	b.reads.Add(1)
	if b.fail.Load() {
		return errors.New("no leader confirmed the read in time")
	}
	return b.Cluster.ConsistentRead(ctx)
}

// TestUnknownTokenAfterBarrier: a token this server does not know is looked up again after a
// consistent read, on a leader too (a leader just elected may not have applied its
// predecessor's last entries; a restarted server may still be replaying); when that read
// cannot be made, the answer is 503, never 401, so a client is not told a valid token is wrong.
func TestUnknownTokenAfterBarrier(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	node := c.Server(0).Node()
	bc := &barrierCluster{Cluster: node}
	h := api.New(api.Config{Cluster: bc, State: node.State(), Events: node.FSM().Events(), Routes: c.Server(0).ServiceRoutes()})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	unknown := "slw_" + strings.Repeat("a", 40)

	bc.fail.Store(true)
	status, eb, _ := call(t, "GET", srv.URL+"/v1/hosts", unknown, nil, nil)
	if status != http.StatusServiceUnavailable || !strings.Contains(eb.Error.Message, "cannot check the credential") {
		t.Fatalf("unknown token without a read barrier: %d %+v; want 503 saying the credential cannot be checked", status, eb)
	}
	if bc.reads.Load() != 1 {
		t.Fatalf("%d consistent reads on a leader; want the one before the second lookup", bc.reads.Load())
	}

	bc.fail.Store(false)
	status, eb, _ = call(t, "GET", srv.URL+"/v1/hosts", unknown, nil, nil)
	if status != http.StatusUnauthorized {
		t.Fatalf("unknown token after a read barrier: %d %+v; want 401", status, eb)
	}
	if status, _, _ := call(t, "GET", srv.URL+"/v1/hosts", testutil.ManagementToken, nil, nil); status != http.StatusOK {
		t.Fatalf("the cluster's token: %d; want 200", status)
	}
}
