package deploy

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/module"
)

// TestCommandsKeepTheirLogFormat: the numbers, names, schema versions and payload JSON of the
// commands that moved here from the core are the Raft log's format, which must not change.
func TestCommandsKeepTheirLogFormat(t *testing.T) {
	type def interface {
		Type() command.Type
		Name() string
		Version() uint8
	}
	for _, tc := range []struct {
		typ     uint16
		def     def
		name    string
		payload any
		json    string
		version uint8 // 0 for 1
	}{
		{20, CmdAppCreate, "app.create", AppCreatePayload{Name: "web", Description: "d"}, `{"name":"web","description":"d"}`, 0},
		{21, CmdAppDelete, "app.delete", AppDeletePayload{Name: "web"}, `{"name":"web"}`, 0},
		{22, CmdAppUpdate, "app.update", AppUpdatePayload{Name: "web", Description: "d", CAS: 3}, `{"name":"web","description":"d","cas":3}`, 0},
		{40, CmdRevisionCreate, "revision.create", RevisionCreatePayload{ID: "r", App: "web", SHA256: "s", Size: 1, Format: "tar", Description: "d"},
			`{"id":"r","app":"web","sha256":"s","size":1,"format":"tar","description":"d"}`, 0},
		{70, CmdGroupPut, "group.put", GroupPutPayload{Create: true, ID: "i", App: "web", Name: "g", Tags: map[string]string{"k": "v"}, Hosts: []string{"h"}, Config: "c", AutoRollback: "off"},
			`{"create":true,"id":"i","app":"web","name":"g","tags":{"k":"v"},"hosts":["h"],"config":"c","auto_rollback":"off"}`, 2},
		// Version 2 (a health check) encodes a version 1 payload as it was.
		{70, CmdGroupPut, "group.put", GroupPutPayload{ID: "i", App: "web", Name: "g", Hosts: []string{"h"}, Config: "c", AutoRollback: "off",
			HealthCheck: &HealthCheck{URL: "http://127.0.0.1/h", ExpectedStatus: 200, Timeout: time.Second, Attempts: 3, Interval: time.Second}},
			`{"create":false,"id":"i","app":"web","name":"g","hosts":["h"],"config":"c","auto_rollback":"off","health_check":{"url":"http://127.0.0.1/h","expected_status":200,"timeout":1000000000,"attempts":3,"interval":1000000000}}`, 2},
		{1120, cmdTriggerPut, "group.trigger_put", TriggerPutPayload{App: "web", Group: "g", GroupID: "i", Trigger: Trigger{Name: "t", Events: []string{"DeploymentStart"}, URL: "https://x", Secret: []byte{1}}},
			`{"app":"web","group":"g","group_id":"i","trigger":{"name":"t","events":["DeploymentStart"],"url":"https://x","secret":"AQ=="}}`, 0},
		{1121, cmdTriggerDelete, "group.trigger_delete", TriggerDeletePayload{App: "web", Group: "g", Name: "t"}, `{"app":"web","group":"g","name":"t"}`, 0},
		{1122, cmdTriggerDelivered, "trigger.delivered", TriggerDeliveredPayload{IDs: []string{"a"}}, `{"ids":["a"]}`, 0},
		{71, CmdGroupDelete, "group.delete", GroupDeletePayload{App: "web", Name: "g"}, `{"app":"web","name":"g"}`, 0},
		{72, CmdConfigCreate, "config.create", ConfigCreatePayload{Name: "c", Kind: "HOST_COUNT", Value: 1}, `{"name":"c","kind":"HOST_COUNT","value":1}`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			version := max(tc.version, 1)
			if tc.def.Name() != tc.name || tc.def.Version() != version {
				t.Errorf("defined as %s version %d; want %s version %d", tc.def.Name(), tc.def.Version(), tc.name, version)
			}
			if got := fmt.Sprint(tc.def.Type()); got != tc.name {
				t.Errorf("type %d is named %s", tc.typ, got)
			}
			if n := uint16(tc.def.Type()); n != tc.typ {
				t.Errorf("number %d; want %d", n, tc.typ)
			}
			b, _ := json.Marshal(tc.payload)
			if string(b) != tc.json {
				t.Errorf("payload JSON %s; want %s", b, tc.json)
			}
		})
	}
}

// TestRoutesKeepTheirDeclarations: the routes that moved here from the core keep their method,
// pattern, access, action and resource.
func TestRoutesKeepTheirDeclarations(t *testing.T) {
	reg := module.NewRegistry(fsm.NewTable())
	reg.Add(&module.Core{}, New())
	got := map[string]string{}
	for _, rt := range reg.AllRoutes() {
		got[rt.Method+" "+rt.Pattern] = fmt.Sprintf("%d %s %s", rt.Access, rt.Action, rt.Resource)
	}
	for _, want := range []struct {
		route  string
		access api.Access
		action string
		res    string
	}{
		{"POST /v1/apps", api.Management, "codedeploy:CreateApplication", "app/*"},
		{"GET /v1/apps", api.AnyToken, "codedeploy:ListApplications", "app/*"},
		{"GET /v1/apps/{name}", api.AnyToken, "codedeploy:GetApplication", "app/{name}"},
		{"PUT /v1/apps/{name}", api.Management, "codedeploy:UpdateApplication", "app/{name}"},
		{"DELETE /v1/apps/{name}", api.Management, "codedeploy:DeleteApplication", "app/{name}"},
		{"POST /v1/apps/{app}/revisions", api.Management, "codedeploy:RegisterApplicationRevision", "app/{app}"},
		{"GET /v1/apps/{app}/revisions", api.AnyToken, "codedeploy:ListApplicationRevisions", "app/{app}"},
		{"GET /v1/revisions/{id}", api.AnyToken, "codedeploy:GetApplicationRevision", "revision/{id}"},
		{"GET /v1/revisions/{id}/content", api.AnyToken, "codedeploy:GetApplicationRevisionContent", "revision/{id}"},
		{"POST /v1/apps/{app}/groups", api.Management, "codedeploy:CreateDeploymentGroup", "app/{app}/group/*"},
		{"GET /v1/apps/{app}/groups", api.AnyToken, "codedeploy:ListDeploymentGroups", "app/{app}/group/*"},
		{"GET /v1/apps/{app}/groups/{name}", api.AnyToken, "codedeploy:GetDeploymentGroup", "app/{app}/group/{name}"},
		{"PUT /v1/apps/{app}/groups/{name}", api.Management, "codedeploy:UpdateDeploymentGroup", "app/{app}/group/{name}"},
		{"DELETE /v1/apps/{app}/groups/{name}", api.Management, "codedeploy:DeleteDeploymentGroup", "app/{app}/group/{name}"},
		{"POST /v1/deployment-configs", api.Management, "codedeploy:CreateDeploymentConfig", "deployment-config/*"},
		{"GET /v1/deployment-configs", api.AnyToken, "codedeploy:ListDeploymentConfigs", "deployment-config/*"},
		{"GET /v1/deployment-configs/{name}", api.AnyToken, "codedeploy:GetDeploymentConfig", "deployment-config/{name}"},
		{"DELETE /v1/deployment-configs/{name}", api.Management, "codedeploy:DeleteDeploymentConfig", "deployment-config/{name}"},
		{"POST /v1/apps/{app}/groups/{name}/triggers", api.Management, "codedeploy:CreateTrigger", "app/{app}/group/{name}"},
		{"GET /v1/apps/{app}/groups/{name}/triggers", api.Management, "codedeploy:ListTriggers", "app/{app}/group/{name}"},
		{"DELETE /v1/apps/{app}/groups/{name}/triggers/{trigger}", api.Management, "codedeploy:DeleteTrigger", "app/{app}/group/{name}"},
	} {
		if g, w := got[want.route], fmt.Sprintf("%d %s %s", want.access, want.action, want.res); g != w {
			t.Errorf("%s is declared %q; want %q", want.route, g, w)
		}
	}
}
