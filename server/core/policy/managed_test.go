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
	want := []string{AdministratorAccess, "AuditFullAccess", "AuditReadOnlyAccess", "CodeCommitFullAccess", "CodeCommitReadOnlyAccess", "CodeDeployFullAccess", "CodeDeployReadOnlyAccess",
		"EventsFullAccess", "EventsReadOnlyAccess", "HostsFullAccess", "HostsReadOnlyAccess", "IAMFullAccess", "IAMReadOnlyAccess",
		"KVFullAccess", "KVReadOnlyAccess", "OperatorFullAccess", "OperatorReadOnlyAccess", ReadOnlyAccess, "STSFullAccess", "STSReadOnlyAccess"}
	want = append(want, "SecretsManagerFullAccess", "SecretsManagerReadOnlyAccess")
	want = append(want, "CodeBuildFullAccess", "CodeBuildReadOnlyAccess")
	want = append(want, "CodePipelineFullAccess", "CodePipelineReadOnlyAccess", "CodePipelineApproverAccess")
	slices.Sort(want)
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
		{AdministratorAccess, "codedeploy:DeleteApplication", true},
		{AdministratorAccess, "iam:CreateToken", true},
		{ReadOnlyAccess, "codedeploy:GetApplication", true},
		{ReadOnlyAccess, "codedeploy:ListDeployments", true},
		{ReadOnlyAccess, "codedeploy:WatchDeployment", true},
		{ReadOnlyAccess, "kv:GetKey", true},
		{ReadOnlyAccess, "kv:PutKey", false},
		{ReadOnlyAccess, "codedeploy:CreateDeployment", false},
		{ReadOnlyAccess, "codedeploy:ListTriggers", false},
		{ReadOnlyAccess, "iam:ListTokens", false},
		{ReadOnlyAccess, "sts:GetCallerIdentity", true},
		{ReadOnlyAccess, "operator:GetKeyring", false},
		{ReadOnlyAccess, "operator:GetStatus", true},
		{ReadOnlyAccess, "hosts:GetRegistrationToken", false},
		{ReadOnlyAccess, "hosts:GetHost", true},
		{ReadOnlyAccess, "nosuch:ReadThing", false},
		{"CodeDeployFullAccess", "codedeploy:CreateDeployment", true},
		{"CodeDeployFullAccess", "kv:PutKey", false},
		{"CodeDeployReadOnlyAccess", "codedeploy:GetDeployment", true},
		{"CodeDeployReadOnlyAccess", "codedeploy:GetApplication", true},
		{"CodeDeployReadOnlyAccess", "codedeploy:ListTriggers", false},
		{"CodeDeployReadOnlyAccess", "codedeploy:StopDeployment", false},
		{"CodeDeployReadOnlyAccess", "kv:GetKey", false},
		{"CodePipelineFullAccess", "codepipeline:CreatePipeline", true},
		{"CodePipelineReadOnlyAccess", "codepipeline:GetPipelineState", true},
		{"CodePipelineReadOnlyAccess", "codepipeline:ListPipelineExecutions", true},
		{"CodePipelineReadOnlyAccess", "codepipeline:PutApprovalResult", false},
		{"CodePipelineReadOnlyAccess", "codepipeline:StartPipelineExecution", false},
		{ReadOnlyAccess, "codepipeline:GetPipeline", true},
		{ReadOnlyAccess, "codepipeline:PutApprovalResult", false},
		{"CodePipelineApproverAccess", "codepipeline:PutApprovalResult", true},
		{"CodePipelineApproverAccess", "codepipeline:GetPipelineState", true},
		{"CodePipelineApproverAccess", "codepipeline:StartPipelineExecution", false},
		{"CodePipelineApproverAccess", "codepipeline:UpdatePipeline", false},
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
