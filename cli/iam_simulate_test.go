package cli

import (
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/pkg/api"
)

// TestIAMSimulate: allowed (naming the policy and Sid, exit 0), explicitly denied by a group's
// statement (named, exit 4), implicitly denied (no statement, exit 4); a group, a token and a
// role as the principal; --context; unknown principals; a read-only token may not simulate.
func TestIAMSimulate(t *testing.T) {
	_, cli := iamCLI(t)
	must(t, "user", cli("", "", "iam", "user", "create", "alice"))
	must(t, "group", cli("", "", "iam", "group", "create", "auditors"))
	must(t, "member", cli("", "", "iam", "group", "add-user", "auditors", "alice"))
	must(t, "shop-read", cli("", shopReadYAML, "iam", "policy", "create", "shop-read", "--document", "-"))
	noDeletes := "Version: slipway-2026-12\nStatement:\n  - Sid: NoDeletes\n    Effect: Deny\n    Action: codedeploy:Delete*\n    Resource: \"*\"\n"
	must(t, "no-deletes", cli("", noDeletes, "iam", "policy", "create", "no-deletes", "--document", "-"))
	fromOffice := "Version: slipway-2026-12\nStatement:\n  - Sid: Office\n    Effect: Allow\n    Action: codedeploy:CreateApplication\n    Resource: \"*\"\n    Condition:\n      IpAddress:\n        slipway:SourceIp: 10.0.0.0/8\n"
	must(t, "from-office", cli("", fromOffice, "iam", "policy", "create", "from-office", "--document", "-"))
	must(t, "attach", cli("", "", "iam", "policy", "attach", "shop-read", "--user", "alice"))
	must(t, "attach", cli("", "", "iam", "policy", "attach", "from-office", "--user", "alice"))
	must(t, "attach", cli("", "", "iam", "policy", "attach", "no-deletes", "--group", "auditors"))
	// The user may delete shop by their own policies; the group's Deny overrides it.
	deleteShop := "Version: slipway-2026-12\nStatement:\n  - Sid: MayDelete\n    Effect: Allow\n    Action: codedeploy:DeleteApplication\n    Resource: srn:slipway:codedeploy:app/shop\n"
	must(t, "may-delete", cli("", deleteShop, "iam", "policy", "create", "may-delete", "--document", "-"))
	must(t, "attach", cli("", "", "iam", "policy", "attach", "may-delete", "--user", "alice"))

	sim := func(principal, action, resource string, extra ...string) result {
		return cli("", "", append([]string{"iam", "simulate", "--principal", principal, "--action", action, "--resource", resource}, extra...)...)
	}
	r := sim("user/alice", "codedeploy:GetApplication", "srn:slipway:codedeploy:app/shop")
	must(t, "allowed", r, "Decision", "allowed", "Policy", "shop-read", "Sid", "ReadShop", "Statement")
	r = sim("user/alice", "codedeploy:GetDeploymentGroup", "app/shop/group/prod", "--output", "json")
	var res api.SimulateResult
	decodeJSON(t, r, &res)
	if res.Decision != api.SimulateAllowed || res.Policy != "shop-read" || res.Sid != "ReadShop" || res.Statement != 0 || res.Resource != "srn:slipway:codedeploy:app/shop/group/prod" {
		t.Fatalf("allowed, json (a relative resource is qualified): %+v", res)
	}

	r = sim("user/alice", "codedeploy:DeleteApplication", "srn:slipway:codedeploy:app/shop")
	refused(t, "explicit deny", r, ExitDenied, "explicit deny: codedeploy:DeleteApplication on srn:slipway:codedeploy:app/shop for user/alice")
	for _, w := range []string{"explicit_deny", "no-deletes", "NoDeletes"} {
		if !strings.Contains(r.stdout, w) {
			t.Fatalf("explicit deny: stdout %q does not name %q", r.stdout, w)
		}
	}
	r = sim("user/alice", "codedeploy:GetApplication", "srn:slipway:codedeploy:app/web", "--output", "json")
	if r.code != ExitDenied {
		t.Fatalf("implicit deny: exit %d, want %d: %+v", r.code, ExitDenied, r)
	}
	res = api.SimulateResult{}
	decodeJSON(t, result{stdout: r.stdout}, &res)
	if res.Decision != api.SimulateImplicitDeny || res.Policy != "" || res.Sid != "" {
		t.Fatalf("implicit deny: %+v", res)
	}
	refused(t, "implicit deny, table", sim("user/alice", "codedeploy:GetApplication", "app/web"), ExitDenied, "implicit deny")

	// Conditions: what --context gives.
	refused(t, "condition not met", sim("user/alice", "codedeploy:CreateApplication", "app/blog"), ExitDenied)
	must(t, "condition met", sim("user/alice", "codedeploy:CreateApplication", "app/blog", "--context", "slipway:SourceIp=10.1.2.3"), "from-office", "Office")
	refused(t, "a bad --context", sim("user/alice", "codedeploy:CreateApplication", "app/blog", "--context", "slipway:SourceIp"), ExitUsage, "KEY=VALUE")

	// A group alone: its own policies, not its members'.
	r = sim("group/auditors", "codedeploy:DeleteApplication", "app/web", "--output", "json")
	res = api.SimulateResult{}
	decodeJSON(t, result{stdout: r.stdout}, &res)
	if r.code != ExitDenied || res.Decision != api.SimulateExplicitDeny || res.Sid != "NoDeletes" {
		t.Fatalf("group explicit deny: exit %d %+v", r.code, res)
	}
	refused(t, "group: implicit deny", sim("group/auditors", "codedeploy:GetApplication", "app/shop"), ExitDenied, "implicit deny")

	// A token: a service token with its built-in policy; a role.
	must(t, "service token", cli("", "", "token", "create", "--name", "reader"))
	r = cli("", "", "token", "create", "--name", "reader2", "--output", "json")
	var reader api.Token
	decodeJSON(t, r, &reader)
	must(t, "token: allowed by its built-in policy", sim("token/"+reader.AccessorID, "codedeploy:GetApplication", "app/web"), "ReadOnlyAccess")
	refused(t, "token: denied", sim("token/"+reader.AccessorID, "codedeploy:DeleteApplication", "app/web"), ExitDenied)
	must(t, "role", cli("", "", "iam", "role", "create", "deployer", "--trust", "user/alice", "--policy", "CodeDeployFullAccess"))
	must(t, "role: allowed", sim("role/deployer", "codedeploy:CreateDeployment", "deployment/*"), "CodeDeployFullAccess")
	refused(t, "role: denied outside its service", sim("role/deployer", "iam:CreateUser", "user/*"), ExitDenied)

	// What cannot be simulated.
	refused(t, "unknown user", sim("user/nobody", "codedeploy:GetApplication", "app/shop"), ExitFailure, `user "nobody" not found`)
	refused(t, "unknown group", sim("group/nobody", "codedeploy:GetApplication", "app/shop"), ExitFailure, "not found")
	refused(t, "unknown token", sim("token/nope", "codedeploy:GetApplication", "app/shop"), ExitFailure, "not found")
	refused(t, "not a principal", sim("alice", "codedeploy:GetApplication", "app/shop"), ExitFailure, "user/NAME")
	refused(t, "no action", cli("", "", "iam", "simulate", "--principal", "user/alice", "--resource", "app/shop"), ExitUsage, "--action is required")
	refused(t, "a read-only token", cli(reader.SecretID, "", "iam", "simulate", "--principal", "user/alice", "--action", "codedeploy:GetApplication", "--resource", "app/shop"),
		ExitFailure, "not allowed: iam:SimulatePrincipalPolicy")
}
