package hooks_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/core/webhook"
	"github.com/slipwayhq/slipway/server/git"
	"github.com/slipwayhq/slipway/server/git/transport"
)

// BenchmarkDeliveries measures deliveries per second from a one-server cluster to a local
// receiver: each op is one delivery, queued by pushes that create 500 tags at a time (one
// create event each; a push waits until the previous ones arrived, so pending stays under MaxPendingPerHook),
// timed from the first push to the last delivery the receiver got.
// hooks is the number of hooks (one receiver each) sharing the work.
// The reference, measured in the same run: the same number of signed POSTs sent one after
// another with the same client (webhook.Client) to the same kind of receiver, with nothing
// queued or recorded.
func BenchmarkDeliveries(b *testing.B) {
	for _, hooks := range []int{1, 8} {
		b.Run(fmt.Sprintf("hooks=%d", hooks), func(b *testing.B) { benchDeliveries(b, hooks) })
	}
	b.Run("reference=signed-posts", benchSignedPosts)
}

func benchSignedPosts(b *testing.B) {
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	client := webhook.NewClient(webhook.Options{AllowPrivate: true})
	body := []byte(`{"type":"create","repo":"bench","payload":{"ref":"refs/tags/t","commit":"1111111111111111111111111111111111111111"}}`)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		h := http.Header{}
		h.Set(pub.HookSignatureHeader, webhook.Sign([]byte(secret), body))
		if r := client.Post(ctx, rcv.URL, h, body); r.Err != nil {
			b.Fatal(r.Err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
}

func benchDeliveries(b *testing.B, nhooks int) {
	var got atomic.Int64
	progress := make(chan struct{}, 1)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		select {
		case progress <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	waitFor := func(n int64) {
		for got.Load() < n {
			<-progress
		}
	}
	defer rcv.Close()
	c := testutil.NewCluster(b, 1, testutil.Options{Tweak: allowPrivate})
	ctx := context.Background()
	if _, err := c.Client(0).RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "bench"}); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < nhooks; i++ {
		if _, err := c.Client(0).RepoHookCreate(ctx, "bench", pub.RepoHookRequest{URL: rcv.URL, Secret: secret, Events: []string{"create"}}); err != nil {
			b.Fatal(err)
		}
	}
	be := c.Server(0).Service("git").(*git.Module).Backend()
	repo, err := be.Repo(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	// Any 40-hex id serves: apply checks ids, and the replica waits for objects that never come.
	commit := "1111111111111111111111111111111111111111"
	pusher := &auth.Identity{Token: state.Token{AccessorID: "bench", Name: "bench"}}
	per := (b.N + nhooks - 1) / nhooks // events to make
	b.ResetTimer()
	start := time.Now()
	for made := 0; made < per; {
		waitFor(int64(made * nhooks)) // at most 500 unrecorded + 500 new pending: under MaxPendingPerHook
		var ups []transport.RefUpdate
		for ; len(ups) < 500 && made < per; made++ {
			ups = append(ups, transport.RefUpdate{Ref: fmt.Sprintf("refs/tags/t%d-%d", b.N, made), Old: zero, New: commit})
		}
		if _, err := be.Push(ctx, transport.Push{Repo: repo, Updates: ups, Caller: pusher}); err != nil {
			b.Fatal(err)
		}
	}
	want := int64(per * nhooks)
	waitFor(want)
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(want)/elapsed.Seconds(), "deliveries/s")
}
