package policy

import (
	"slices"
	"testing"
)

func TestManagedPoliciesCompile(t *testing.T) {
	docs := managedDocuments()
	for name, doc := range docs {
		if _, err := Compile(name, doc); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	want := []string{"ACLFullAccess", "ACLReadOnlyAccess", AdministratorAccess, "AuditFullAccess", "AuditReadOnlyAccess", "DeployFullAccess", "DeployReadOnlyAccess",
		"EventsFullAccess", "EventsReadOnlyAccess", "HostsFullAccess", "HostsReadOnlyAccess", "KVFullAccess", "KVReadOnlyAccess",
		"OperatorFullAccess", "OperatorReadOnlyAccess", ReadOnlyAccess}
	if got := ManagedNames(); !slices.Equal(got, want) {
		t.Fatalf("ManagedNames = %v, want %v", got, want)
	}
	for _, s := range services {
		for _, suffix := range []string{"FullAccess", "ReadOnlyAccess"} {
			if p, ok := Managed(s.Title + suffix); !ok || p.Name() != s.Title+suffix {
				t.Errorf("%s%s missing", s.Title, suffix)
			}
		}
	}
	if _, ok := Managed("administratoraccess"); ok {
		t.Error("managed names are case-sensitive")
	}
}

func TestManagedPoliciesAllowWhatTheySay(t *testing.T) {
	for _, tc := range []struct {
		policy, action string
		want           bool
	}{
		{AdministratorAccess, "deploy:DeleteApplication", true},
		{AdministratorAccess, "acl:CreateToken", true},
		{ReadOnlyAccess, "deploy:ReadApplication", true},
		{ReadOnlyAccess, "deploy:ListDeployments", true},
		{ReadOnlyAccess, "deploy:WatchDeployment", true},
		{ReadOnlyAccess, "kv:ReadKey", true},
		{ReadOnlyAccess, "kv:PutKey", false},
		{ReadOnlyAccess, "deploy:CreateDeployment", false},
		{ReadOnlyAccess, "deploy:ListTriggers", false},
		{ReadOnlyAccess, "acl:ListTokens", false},
		{ReadOnlyAccess, "acl:GetCallerIdentity", true},
		{ReadOnlyAccess, "operator:ReadKeyring", false},
		{ReadOnlyAccess, "operator:ReadStatus", true},
		{ReadOnlyAccess, "hosts:ReadRegistrationToken", false},
		{ReadOnlyAccess, "hosts:ReadHost", true},
		{ReadOnlyAccess, "nosuch:ReadThing", false},
		{"DeployFullAccess", "deploy:CreateDeployment", true},
		{"DeployFullAccess", "kv:PutKey", false},
		{"DeployReadOnlyAccess", "deploy:ReadDeployment", true},
		{"DeployReadOnlyAccess", "deploy:GetApplication", true},
		{"DeployReadOnlyAccess", "deploy:ListTriggers", false},
		{"DeployReadOnlyAccess", "deploy:StopDeployment", false},
		{"DeployReadOnlyAccess", "kv:ReadKey", false},
	} {
		p, ok := Managed(tc.policy)
		if !ok {
			t.Fatalf("%s missing", tc.policy)
		}
		if got := Evaluate(Request{Action: tc.action, Resource: "app/shop"}, p).Allowed(); got != tc.want {
			t.Errorf("%s on %s: %v, want %v", tc.policy, tc.action, got, tc.want)
		}
	}
}
