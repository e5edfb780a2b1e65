package policy

import (
	"sort"
	"sync"
)

// ServiceAccess is one service's row in the managed-policy table: the action prefix its routes
// use ("deploy" for "codedeploy:CreateDeployment"), the title its policy names start with, and
// the action-name patterns that read-only access allows. Each row yields two managed policies:
// TitleFullAccess (every action of the service) and TitleReadOnlyAccess (the read patterns);
// ReadOnlyAccess allows every row's read patterns.
//
// ReadActions lists only the reads a read-only caller may make: a read that shows secrets or
// the cluster's internals (token and registration-token listings, the keyring, the Raft
// configuration, trigger URLs) is full access only, so it is left out here even though its verb
// reads. The API's route table test (server/core/api TestEveryRouteIsAuthorizedByPolicy) checks
// this table against every route: what a client token may call, and nothing more.
type ServiceAccess struct {
	Service     string
	Title       string
	ReadActions []string
}

// services is the managed-policy table. A service adds its row here when its routes gain
// actions; the action spelling is the routes' (change Service here if they change prefix).
var services = []ServiceAccess{
	{Service: "codedeploy", Title: "CodeDeploy", ReadActions: []string{"Get*", "Watch*",
		"ListApplications", "ListDeploymentGroups", "ListDeploymentConfigs", "ListApplicationRevisions", "ListDeployments"}},
	{Service: "codecommit", Title: "CodeCommit", ReadActions: []string{"GetRepository", "ListRepositories", "GitPull",
		"ListBranches", "GetBranch", "GetCommit", "GetFolder", "GetFile", "GetDifferences", "GetRepositoryBundle",
		"GetBranchProtection", "GetCommitStatuses", "GetMergeConflicts",
		"GetPullRequest", "ListPullRequests", "GetCommentsForPullRequest", "EvaluatePullRequestApprovalRules",
		"GetApprovalRuleTemplate", "ListApprovalRuleTemplates", "ListAssociatedApprovalRuleTemplatesForRepository"}},
	{Service: "kv", Title: "KV", ReadActions: []string{"Get*", "List*", "Watch*"}},
	{Service: "hosts", Title: "Hosts", ReadActions: []string{"ListHosts", "GetHost"}},
	{Service: "events", Title: "Events", ReadActions: []string{"WatchEvents"}},
	{Service: "operator", Title: "Operator", ReadActions: []string{"GetStatus", "GetMetrics"}},
	{Service: "iam", Title: "IAM", ReadActions: []string{"GetUser", "ListUsers", "GetGroup", "ListGroups", "GetPolicy",
		"ListPolicies", "GetRole", "ListRoles", "ListSSHPublicKeys"}},
	{Service: "sts", Title: "STS", ReadActions: []string{"GetCallerIdentity"}},
	{Service: "audit", Title: "Audit", ReadActions: []string{"ListRecords", "ExportRecords", "GetTrailHead", "GetActiveUsersReport"}},
	// Values (GetSecretValue) are full access only, as in AWS's ReadOnlyAccess.
	{Service: "secretsmanager", Title: "SecretsManager", ReadActions: []string{"DescribeSecret", "ListSecrets"}},
	{Service: "codebuild", Title: "CodeBuild", ReadActions: []string{"BatchGetProjects", "ListProjects", "BatchGetBuilds", "ListBuilds", "ListBuildsForProject", "BatchGetBuildBatches", "ListBuildBatches", "ListBuildBatchesForProject"}},
	{Service: "codepipeline", Title: "CodePipeline", ReadActions: []string{"Get*", "List*"}},
}

// extraManaged are managed policies outside the table's two per service: CodePipeline's
// approvers (AWS has no such managed policy; Slipway's users ask for one often enough): the
// reads an approver needs to see what they approve, and PutApprovalResult.
var extraManaged = map[string][]string{
	"CodePipelineApproverAccess": {"codepipeline:GetPipeline", "codepipeline:GetPipelineState", "codepipeline:GetPipelineExecution",
		"codepipeline:ListPipelines", "codepipeline:ListPipelineExecutions", "codepipeline:PutApprovalResult"},
}

// MFAProtectedActions are the destructive actions AdministratorAccess allows only with a second
// factor once the principal has one enrolled: a user with MFA must sign in with it to delete an
// application, a deployment group, a user or a token, to turn off an MFA device, or to restore a
// snapshot. Principals
// without MFA (service tokens, users not enrolled) are not held to it.
var MFAProtectedActions = []string{
	"codedeploy:DeleteApplication", "codedeploy:DeleteDeploymentGroup", "operator:RestoreSnapshot",
	"iam:DeleteUser", "iam:DeleteToken", "iam:DeactivateMFADevice", "codecommit:DeleteRepository",
}

// The managed policies every service has regardless of the table.
const (
	AdministratorAccess = "AdministratorAccess"
	ReadOnlyAccess      = "ReadOnlyAccess"
)

// managedDocuments builds the managed policies' documents, by name.
func managedDocuments() map[string]*Document {
	docs := map[string]*Document{
		AdministratorAccess: {Version: VersionSlipway, Statement: []Statement{
			{Sid: "FullAccess", Effect: EffectAllow, Action: []string{"*"}, Resource: []string{"*"}},
			{Sid: "DestructiveNeedsMFA", Effect: EffectDeny, Action: MFAProtectedActions, Resource: []string{"*"},
				Condition: []Condition{
					{Operator: "Bool", Key: KeyMultiFactorAuthPresent, Values: []string{"false"}},
					{Operator: "Bool", Key: KeyMultiFactorAuthEnrolled, Values: []string{"true"}},
				}},
		}},
	}
	var read []string
	for _, s := range services {
		for _, a := range s.ReadActions {
			read = append(read, s.Service+":"+a)
		}
	}
	docs[ReadOnlyAccess] = &Document{Version: VersionSlipway, Statement: []Statement{
		{Sid: "ReadOnly", Effect: EffectAllow, Action: read, Resource: []string{"*"}},
	}}
	for _, s := range services {
		docs[s.Title+"FullAccess"] = &Document{Version: VersionSlipway, Statement: []Statement{
			{Sid: "FullAccess", Effect: EffectAllow, Action: []string{s.Service + ":*"}, Resource: []string{"*"}},
		}}
		var actions []string
		for _, a := range s.ReadActions {
			actions = append(actions, s.Service+":"+a)
		}
		docs[s.Title+"ReadOnlyAccess"] = &Document{Version: VersionSlipway, Statement: []Statement{
			{Sid: "ReadOnly", Effect: EffectAllow, Action: actions, Resource: []string{"*"}},
		}}
	}
	for name, actions := range extraManaged {
		docs[name] = &Document{Version: VersionSlipway, Statement: []Statement{
			{Sid: "Allow", Effect: EffectAllow, Action: actions, Resource: []string{"*"}},
		}}
	}
	return docs
}

// managed compiles the table once. A document that fails to compile is a programming error
// that TestManagedPoliciesCompile catches; it is left out rather than panicking a server.
var managed = sync.OnceValue(func() map[string]*Policy {
	out := map[string]*Policy{}
	for name, doc := range managedDocuments() {
		if p, err := Compile(name, doc); err == nil {
			out[name] = p
		}
	}
	return out
})

// Managed returns the built-in managed policy of that name (case-sensitive), compiled. The
// Policy is shared: callers must not modify its Document.
func Managed(name string) (*Policy, bool) {
	p, ok := managed()[name]
	return p, ok
}

// ManagedNames lists the built-in managed policies, sorted.
func ManagedNames() []string {
	m := managed()
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
