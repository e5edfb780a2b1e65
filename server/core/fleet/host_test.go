package fleet_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

var ctx = context.Background()

// TestHostViewsOnlineByTimeout: a host is online while a server holds its session and it was
// heard from less than the host timeout ago; List is in name order, Get finds by name.
func TestHostViewsOnlineByTimeout(t *testing.T) {
	c := newCluster(t)
	clk := &clock{t: t0}
	hosts := newHosts(c, clk)
	c.register("h2", "zeta", map[string]string{"role": "web"})
	c.register("h1", "alpha", nil)
	propose(c, command.HostStatusCmd, t0, command.HostStatus{HostID: "h2", Server: "s1", Online: true, Address: "10.0.0.2"})

	list, err := hosts.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Hosts) != 2 || list.Hosts[0].Name != "alpha" || list.Hosts[1].Name != "zeta" {
		t.Fatalf("list: %+v", list.Hosts)
	}
	if list.Hosts[0].Status != pub.HostOffline || list.Hosts[1].Status != pub.HostOnline {
		t.Fatalf("statuses: alpha %s, zeta %s; want offline (no session), online", list.Hosts[0].Status, list.Hosts[1].Status)
	}
	h, err := hosts.Get(ctx, "zeta")
	if err != nil {
		t.Fatal(err)
	}
	if h.ID != "h2" || h.Address != "10.0.0.2" || h.Tags["role"] != "web" || !h.LastSeen.Equal(t0) {
		t.Fatalf("get: %+v", h)
	}

	clk.t = t0.Add(time.Minute - time.Nanosecond)
	if h, _ := hosts.Get(ctx, "zeta"); h.Status != pub.HostOnline {
		t.Fatalf("just inside the timeout: %s", h.Status)
	}
	clk.t = t0.Add(time.Minute)
	if h, _ := hosts.Get(ctx, "zeta"); h.Status != pub.HostOffline {
		t.Fatalf("at the timeout: %s", h.Status)
	}

	_, err = hosts.Get(ctx, "nope")
	wantFault(t, err, fault.NotFound, `host "nope" not found`)
}

func TestHostListEmpty(t *testing.T) {
	list, err := newHosts(newCluster(t), &clock{t: t0}).List(ctx)
	if err != nil || list.Hosts == nil || len(list.Hosts) != 0 {
		t.Fatalf("empty list: %#v, %v", list, err)
	}
}

// TestHostRevisionNames: revision keys are named by RevisionNames, "app-X" IDs show as "X",
// other keys as they are; without a namer only the "app-" rule applies.
func TestHostRevisionNames(t *testing.T) {
	c := newCluster(t)
	hosts := newHosts(c, &clock{t: t0})
	c.register("h1", "alpha", nil)
	err := c.store.Update(func(tx *state.Tx) error {
		h, err := tx.HostByName("alpha")
		if err != nil {
			return err
		}
		h.Revisions = map[string]string{"g-1": "r1", "app-web": "r2", "other": "r3"}
		return tx.PutHost(h)
	})
	if err != nil {
		t.Fatal(err)
	}
	hosts.RevisionNames = func(*state.Tx) map[string]string { return map[string]string{"g-1": "api/blue"} }
	h, err := hosts.Get(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"api/blue": "r1", "web": "r2", "other": "r3"}
	if fmt.Sprint(h.Revisions) != fmt.Sprint(want) {
		t.Fatalf("revisions %v, want %v", h.Revisions, want)
	}
	hosts.RevisionNames = nil
	list, err := hosts.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]string{"g-1": "r1", "web": "r2", "other": "r3"}
	if fmt.Sprint(list.Hosts[0].Revisions) != fmt.Sprint(want) {
		t.Fatalf("revisions without a namer %v, want %v", list.Hosts[0].Revisions, want)
	}
}

// TestHostTagRules: tags and keys are checked before the host is looked up, with the messages
// the API answers; a tag sets and removes and answers with the host's view.
func TestHostTagRules(t *testing.T) {
	c := newCluster(t)
	hosts := newHosts(c, &clock{t: t0})
	c.register("h1", "alpha", map[string]string{"zone": "eu", "role": "web"})

	_, err := hosts.Tag(ctx, "nope", map[string]string{"bad key": "x"}, nil)
	wantFault(t, err, fault.Invalid, `tag key "bad key" is invalid`)
	_, err = hosts.Tag(ctx, "nope", nil, []string{"bad key"})
	wantFault(t, err, fault.Invalid, "tag key name")
	many := make([]string, state.MaxTags+1)
	for i := range many {
		many[i] = fmt.Sprintf("k%d", i)
	}
	_, err = hosts.Tag(ctx, "nope", nil, many)
	wantFault(t, err, fault.Invalid, fmt.Sprintf("%d tag keys to remove; the limit is %d", state.MaxTags+1, state.MaxTags))
	_, err = hosts.Tag(ctx, "nope", map[string]string{"a": "b"}, nil)
	wantFault(t, err, fault.NotFound, `host "nope" not found`)

	h, err := hosts.Tag(ctx, "alpha", map[string]string{"quarantined": "yes"}, []string{"zone"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(h.Tags) != fmt.Sprint(map[string]string{"quarantined": "yes", "role": "web"}) || h.Name != "alpha" {
		t.Fatalf("tagged: %+v", h)
	}
	var rec state.Host
	_ = c.store.View(func(tx *state.Tx) error { rec, err = tx.HostByName("alpha"); return err })
	if fmt.Sprint(rec.OperatorTags) != "[quarantined zone]" {
		t.Fatalf("operator tags %v: the tag must be recorded as the operator's", rec.OperatorTags)
	}
}

// TestHostDelete deletes by name and leaves a tombstone: the same identity cannot register again.
func TestHostDelete(t *testing.T) {
	c := newCluster(t)
	hosts := newHosts(c, &clock{t: t0})
	c.register("h1", "alpha", nil)
	wantFault(t, hosts.Delete(ctx, "nope"), fault.NotFound, `host "nope" not found`)
	if err := hosts.Delete(ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	_, err := hosts.Get(ctx, "alpha")
	wantFault(t, err, fault.NotFound, `host "alpha" not found`)
	_, err = command.Propose(ctx, c, command.HostRegisterCmd, t0, command.HostRegister{HostID: "h1", SecretHash: hash('1'), Name: "alpha", Token: "tok"})
	wantFault(t, err, fault.Conflict, "fresh identity")
}
