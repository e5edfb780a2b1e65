package simagent_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/appspec"
	"github.com/slipwayhq/slipway/internal/simagent"
	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/pkg/api"
)

func TestEventsMatchTheLifecycle(t *testing.T) {
	evs := simagent.Events("d-1", time.Now())
	want := 1
	for _, e := range appspec.Events {
		if e.Traffic {
			want++
		} else {
			want += 2
		}
	}
	if len(evs) != want {
		t.Fatalf("%d events, want %d", len(evs), want)
	}
	for i, ev := range evs {
		if ev.Seq != uint64(i+1) || ev.DeploymentID != "d-1" {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	if last := evs[len(evs)-1]; last.Event != agentproto.DeploymentEnd || last.Status != agentproto.StatusSucceeded {
		t.Fatalf("last event %+v", last)
	}
}

// TestFleetDeploys runs a deployment on a 3-node cluster to simulated agents spread over every
// server, and checks each host ran it once and had its reports acknowledged; in plain HTTP and
// over TLS (where the servers accept a session only with the host's own certificate).
func TestFleetDeploys(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	t.Run("plain", func(t *testing.T) { testFleetDeploys(t, false) })
	t.Run("tls", func(t *testing.T) { testFleetDeploys(t, true) })
}

func testFleetDeploys(t *testing.T, withTLS bool) {
	c := testutil.NewCluster(t, 3, testutil.Options{TLS: withTLS})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := c.Client(c.WaitLeader())
	tok, err := cl.HostTokenCreate(ctx, api.HostTokenCreateRequest{Tags: map[string]string{"role": "sim"}})
	if err != nil {
		t.Fatal(err)
	}
	sc := simagent.Config{Servers: []string{c.URL(0), c.URL(1), c.URL(2)}, RegistrationToken: tok.Token, NamePrefix: "t"}
	if withTLS {
		sc.RootCAs = c.TLS().CA.Pool()
	}
	f, err := simagent.NewFleet(sc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Add(ctx, 6, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.AppCreate(ctx, api.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	info, err := simagent.WriteBundle(&buf)
	if err != nil {
		t.Fatal(err)
	}
	rev, _, err := cl.RevisionPush(ctx, "web", &buf, info.Size, info.SHA256, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range f.Agents() {
		names = append(names, a.Name)
	}
	d, err := cl.DeploymentCreate(ctx, api.DeploymentCreateRequest{App: "web", Revision: rev.ID, Hosts: names})
	if err != nil {
		t.Fatal(err)
	}
	for f.EndAcked(d.ID) < len(names) {
		select {
		case <-f.Done():
		case <-ctx.Done():
			t.Fatalf("only %d of %d hosts acknowledged", f.EndAcked(d.ID), len(names))
		}
	}
	testutil.Eventually(t, 10*time.Second, func() error {
		d, err = cl.DeploymentGet(ctx, d.ID, nil)
		if err == nil && d.Status != api.DeploymentSucceeded {
			return fmt.Errorf("status %s", d.Status)
		}
		return err
	})
	for _, tg := range d.Targets {
		if tg.Status != "succeeded" {
			t.Errorf("host %s: %s %s", tg.Host, tg.Status, tg.Message)
		}
	}
	recs := f.Records(d.ID)
	if len(recs) != len(names) {
		t.Fatalf("%d records, want %d", len(recs), len(names))
	}
	for _, r := range recs {
		if r.Runs < 1 || r.RunAt.IsZero() || r.EndAckAt.Before(r.RunAt) {
			t.Errorf("record %+v", r)
		}
	}
}
