package rollout

import (
	"reflect"
	"strings"
	"testing"
)

// Rule: host health after the deployment. After success, succeeded hosts are Healthy and Current,
// failed hosts Unhealthy. After failure, attempted hosts take their own result, untouched hosts
// keep theirs, and the group's current revision stays the old one.
func TestRuleHealthAfterDeployment(t *testing.T) {
	h := func(name string, health Health, rev string) Host {
		return Host{ID: id(name), Name: name, Health: health, Revision: rev}
	}
	t.Run("after success", func(t *testing.T) {
		r := mustStart(t, builtin(OneAtATime), fleet(4))
		sim := simulate(t, r, results("h04"))
		o := r.Outcome(sim.states, "v1")
		want := Outcome{Succeeded: true, Revision: "v2", Hosts: []Host{
			h("h01", Healthy, "v2"), h("h02", Healthy, "v2"), h("h03", Healthy, "v2"), h("h04", Unhealthy, "v1"),
		}}
		if !reflect.DeepEqual(o, want) {
			t.Fatalf("Outcome = %+v\nwant %+v", o, want)
		}
	})
	t.Run("after failure", func(t *testing.T) {
		hosts := []Host{
			h("h01", Unhealthy, "v0"), h("h02", Healthy, "v1"), h("h03", Healthy, "v1"),
			h("h04", Unhealthy, ""), h("h05", HealthUnknown, ""), h("h06", Healthy, "v2"),
		}
		r := mustStart(t, builtin(OneAtATime), hosts) // 4 healthy at start: minimum 3
		// Order: h04, h01 (unhealthy), h05 (unknown revision), h02, h03, h06.
		sim := simulate(t, r, results("h04", "h05", "h02"))
		o := r.Outcome(sim.states, "v1")
		want := []Host{
			h("h04", Unhealthy, ""), h("h01", Healthy, "v2"), h("h05", Unhealthy, ""),
			h("h02", Unhealthy, "v1"),                        // attempted: their own result; a failed host keeps its last good revision
			h("h03", Healthy, "v1"), h("h06", Healthy, "v2"), // untouched: keep theirs
		}
		if o.Succeeded || o.Revision != "v1" || !reflect.DeepEqual(o.Hosts, want) || !strings.Contains(o.Reason, "minimum of 3") {
			t.Fatalf("Outcome = %+v\nwant failed, revision v1, hosts %+v", o, want)
		}
	})
	t.Run("untouched hosts keep unknown health", func(t *testing.T) {
		hosts := fleet(3)
		hosts[2].Health = HealthUnknown
		r := mustStart(t, builtin(OneAtATime), hosts)
		o := r.Outcome(map[string]HostState{id("h01"): Failed}, "")
		if o.Succeeded || o.Revision != "" || o.Hosts[0].Health != Unhealthy || o.Hosts[2].Health != HealthUnknown {
			t.Fatalf("Outcome = %+v", o)
		}
	})
	t.Run("stopped deployment: running hosts count as stopped", func(t *testing.T) {
		r := mustStart(t, builtin(HalfAtATime), fleet(4))
		states := map[string]HostState{id("h01"): Succeeded, id("h02"): Running}
		o := r.Outcome(states, "v1")
		if o.Succeeded || o.Revision != "v1" || !strings.Contains(o.Reason, "stopped with 2 of 4 hosts not deployed") {
			t.Fatalf("Outcome = %+v", o)
		}
		if o.Hosts[0].Health != Healthy || o.Hosts[0].Revision != "v2" || o.Hosts[1].Health != Unhealthy || o.Hosts[1].Revision != "v1" ||
			o.Hosts[2] != r.Hosts[2] || o.Hosts[3] != r.Hosts[3] {
			t.Fatalf("hosts after stop: %+v", o.Hosts)
		}
	})
	t.Run("immediate failure leaves every host as it was", func(t *testing.T) {
		r, _ := Start(hostCount(4), "v2", fleet(4))
		o := r.Outcome(nil, "v1")
		if o.Succeeded || o.Revision != "v1" || !reflect.DeepEqual(o.Hosts, r.Hosts) || !strings.Contains(o.Reason, "minimum of 4") {
			t.Fatalf("Outcome = %+v", o)
		}
	})
}
