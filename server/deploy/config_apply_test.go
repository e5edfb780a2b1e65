package deploy

import (
	"context"
	"strings"
	"testing"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// TestAppliedAsReleased: config.create and group.put entries apply as the release before AWS
// names applied them (it had no such names, so a custom configuration could be called
// CodeDeployDefault.AllAtOnce, and a group could name it): entries already in logs must give the
// same state on every server, whichever release applies them. AWS names for built-ins are the Go
// API's (TestConfigService, TestDeploymentTakesAnAWSConfigName, and server/group_test.go, which
// updates a group by an AWS name through a real server).
func TestAppliedAsReleased(t *testing.T) {
	f := newFSM(t)
	f.setUp()
	if r := f.apply(CmdConfigCreate.New("", testTime, ConfigCreatePayload{Name: "CodeDeployDefault.AllAtOnce", Kind: "HOST_COUNT", Value: 1})); r.Code != "" {
		t.Fatalf("a custom config under an AWS name, as the previous release applied it: %+v", r)
	}
	r := f.apply(CmdGroupPut.New("", testTime, GroupPutPayload{Create: true, ID: "g1", App: "web", Name: "g", Hosts: []string{"host-1"}, Config: "CodeDeployDefault.AllAtOnce"}))
	if r.Code != "" {
		t.Fatalf("a group naming that custom config: %s %s", r.Code, r.Message)
	}
	if g := f.group("web", "g"); g.Config != "CodeDeployDefault.AllAtOnce" {
		t.Fatalf("stored config %q: the custom one must stay what the group names", g.Config)
	}
	if err := f.f.Store().View(func(tx *state.Tx) error {
		c, err := resolveConfig(tx, "CodeDeployDefault.AllAtOnce")
		if err == nil && (c.Kind != "HOST_COUNT" || c.Value != 1) {
			t.Errorf("resolved %+v: the custom configuration of that name, not the built-in", c)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// Without a custom one of that name, an entry naming an AWS name is refused, as it was.
	r = f.apply(CmdGroupPut.New("", testTime, GroupPutPayload{Create: true, ID: "g2", App: "web", Name: "g2", Hosts: []string{"host-1"}, Config: "CodeDeployDefault.HalfAtATime"}))
	if r.Code != string(fault.NotFound) {
		t.Fatalf("an AWS name in a group.put entry: %+v, want not_found as released", r)
	}
}

// TestConfigDelete: a configuration in use cannot be deleted (the conflict names the groups),
// built-ins never, unknown ones are not found, and an unused custom one goes.
func TestConfigDelete(t *testing.T) {
	f := newFSM(t)
	f.setUp()
	if r := f.apply(CmdConfigCreate.New("", testTime, ConfigCreatePayload{Name: "two", Kind: "HOST_COUNT", Value: 2})); r.Code != "" {
		t.Fatalf("create: %+v", r)
	}
	for _, name := range []string{"a", "b"} {
		if r := f.apply(CmdGroupPut.New("", testTime, GroupPutPayload{Create: true, ID: name, App: "web", Name: name, Hosts: []string{"host-1"}, Config: "two"})); r.Code != "" {
			t.Fatalf("group %s: %+v", name, r)
		}
	}
	r := f.apply(CmdConfigDelete.New("", testTime, ConfigDeletePayload{Name: "two"}))
	if r.Code != string(fault.Conflict) || !strings.Contains(r.Message, "web/a, web/b") {
		t.Fatalf("delete of a config in use: %+v, want a conflict naming web/a, web/b", r)
	}
	for _, name := range []string{"OneAtATime", "CodeDeployDefault.AllAtOnce"} {
		if r := f.apply(CmdConfigDelete.New("", testTime, ConfigDeletePayload{Name: name})); r.Code != string(fault.Conflict) || !strings.Contains(r.Message, "built-in") {
			t.Fatalf("delete of built-in %s: %+v", name, r)
		}
	}
	if r := f.apply(CmdConfigDelete.New("", testTime, ConfigDeletePayload{Name: "nope"})); r.Code != string(fault.NotFound) {
		t.Fatalf("delete of an unknown config: %+v", r)
	}
	for _, name := range []string{"a", "b"} {
		if r := f.apply(CmdGroupDelete.New("", testTime, GroupDeletePayload{App: "web", Name: name})); r.Code != "" {
			t.Fatalf("group delete: %+v", r)
		}
	}
	if r := f.apply(CmdConfigDelete.New("", testTime, ConfigDeletePayload{Name: "two"})); r.Code != "" {
		t.Fatalf("delete of an unused config: %+v", r)
	}
	_ = f.f.Store().View(func(tx *state.Tx) error {
		if _, ok, _ := getDeploymentConfig(tx, "two"); ok {
			t.Error("the deleted config is still stored")
		}
		return nil
	})
}

// TestConfigService: Get answers for either name of a built-in and names a config's users;
// Delete goes through the command.
func TestConfigService(t *testing.T) {
	gs, _ := groupService(t)
	cs := &Configs{core: gs.core}
	ctx := context.Background()
	if _, err := cs.Create(ctx, pub.DeploymentConfig{Name: "two", Kind: "HOST_COUNT", Value: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := gs.Create(ctx, "web", pub.GroupRequest{Name: "g", Hosts: []string{"host-1"}, Config: "two"}); err != nil {
		t.Fatal(err)
	}
	dc, err := cs.Get("two")
	if err != nil || dc.Builtin || strings.Join(dc.UsedBy, ",") != "web/g" {
		t.Fatalf("get two: %+v, %v", dc, err)
	}
	dc, err = cs.Get("CodeDeployDefault.OneAtATime")
	if err != nil || dc.Name != "OneAtATime" || dc.AWSName != "CodeDeployDefault.OneAtATime" || !dc.Builtin || dc.Kind != "MOST_CONCURRENCY" {
		t.Fatalf("get by AWS name: %+v, %v", dc, err)
	}
	if _, err := cs.Get("nope"); fault.CodeOf(err) != fault.NotFound {
		t.Fatalf("get unknown: %v", err)
	}
	if err := cs.Delete(ctx, "two"); fault.CodeOf(err) != fault.Conflict {
		t.Fatalf("delete in use: %v", err)
	}
	cfg := "CodeDeployDefault.AllAtOnce"
	if g, err := gs.Update(ctx, "web", "g", pub.GroupUpdateRequest{Config: &cfg}); err != nil || g.Config != "AllAtOnce" {
		t.Fatalf("update to an AWS name: %+v, %v", g, err)
	}
	if err := cs.Delete(ctx, "two"); err != nil {
		t.Fatal(err)
	}
	l, err := cs.List()
	if err != nil || len(l) != 3 || l[1].AWSName != "CodeDeployDefault.HalfAtATime" {
		t.Fatalf("list: %+v, %v", l, err)
	}
}

// group reads a group's record.
func (tf *testFSM) group(app, name string) Group {
	tf.t.Helper()
	var g Group
	if err := tf.f.Store().View(func(tx *state.Tx) error {
		var err error
		g, err = getGroup(tx, app, name)
		return err
	}); err != nil {
		tf.t.Fatal(err)
	}
	return g
}
