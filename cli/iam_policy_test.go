package cli

import (
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/pkg/api"
)

// TestDoneMeansReadOnlyOneApp is issue 16's first "Done means" through the CLI, with a user's
// personal access token as the bearer: a user whose only policy (a customer policy attached to
// the user) allows codedeploy:Get* and codedeploy:List* on app shop reads shop, gets 403 on app
// web and on every write, and each 403 names the action and the resource, never the policy; an
// explicit Deny in a group's policy overrides the Allow in the user's.
func TestDoneMeansReadOnlyOneApp(t *testing.T) {
	_, cli := iamCLI(t)
	// As the administrator: two apps, a deployment group and a revision of shop.
	must(t, "app shop", cli("", "", "app", "create", "shop"))
	must(t, "app web", cli("", "", "app", "create", "web"))
	must(t, "group", cli("", "", "group", "create", "--app", "shop", "prod", "--tag", "env=prod"))
	must(t, "group", cli("", "", "group", "create", "--app", "web", "prod", "--tag", "env=prod"))
	bundle := simpleBundle(t, "done-means", false)
	r := cli("", "", "revision", "push", "--app", "shop", bundle, "--output", "json")
	var rev api.Revision
	decodeJSON(t, r, &rev)

	must(t, "user", cli("", "", "iam", "user", "create", "ana"))
	must(t, "policy", cli("", shopReadYAML, "iam", "policy", "create", "shop-read", "--document", "-"))
	must(t, "attach", cli("", "", "iam", "policy", "attach", "shop-read", "--user", "ana"))
	r = cli("", "", "iam", "token", "create", "--user", "ana", "--output", "json")
	var tok struct {
		Secret string `json:"secret"`
	}
	decodeJSON(t, r, &tok)
	ana := func(args ...string) result { return cli(tok.Secret, "", args...) }

	// Reads of shop.
	must(t, "app get shop", ana("app", "get", "shop"), "shop")
	must(t, "group get shop/prod", ana("group", "get", "--app", "shop", "prod"), "prod")
	must(t, "group list shop", ana("group", "list", "--app", "shop"), "prod")
	must(t, "revision list shop", ana("revision", "list", "--app", "shop"), rev.ID)

	// 403 on web and on every write, naming the action and resource, not the policy.
	denied := []struct {
		args             []string
		action, resource string
	}{
		{[]string{"app", "get", "web"}, "codedeploy:GetApplication", "srn:slipway:codedeploy:app/web"},
		{[]string{"group", "get", "--app", "web", "prod"}, "codedeploy:GetDeploymentGroup", "srn:slipway:codedeploy:app/web/group/prod"},
		{[]string{"app", "create", "blog"}, "codedeploy:CreateApplication", "srn:slipway:codedeploy:app/*"},
		{[]string{"app", "update", "shop", "--description", "mine"}, "codedeploy:UpdateApplication", "srn:slipway:codedeploy:app/shop"},
		{[]string{"app", "delete", "shop"}, "codedeploy:DeleteApplication", "srn:slipway:codedeploy:app/shop"},
		{[]string{"group", "create", "--app", "shop", "staging", "--tag", "env=staging"}, "codedeploy:CreateDeploymentGroup", "srn:slipway:codedeploy:app/shop/group/*"},
		{[]string{"group", "delete", "--app", "shop", "prod"}, "codedeploy:DeleteDeploymentGroup", "srn:slipway:codedeploy:app/shop/group/prod"},
		{[]string{"revision", "push", "--app", "shop", bundle}, "codedeploy:RegisterApplicationRevision", "srn:slipway:codedeploy:app/shop"},
		{[]string{"deploy", "create", "--app", "shop", "--group", "prod", "--revision", rev.ID}, "codedeploy:CreateDeployment", "srn:slipway:codedeploy:app/shop/group/prod"},
		{[]string{"kv", "put", "settings/x", "1"}, "kv:", "srn:slipway:kv:"},
		{[]string{"iam", "user", "create", "eve"}, "iam:CreateUser", "srn:slipway:iam:user/*"},
		{[]string{"iam", "token", "create", "--user", "ana"}, "iam:CreateToken", "srn:slipway:iam:user/ana"},
		{[]string{"token", "create", "--name", "mine"}, "iam:CreateToken", "srn:slipway:iam:token/*"},
	}
	for _, d := range denied {
		r := ana(d.args...)
		refused(t, strings.Join(d.args, " "), r, ExitFailure, "not allowed: "+d.action, d.resource, `user "ana"`)
		for _, leak := range []string{"shop-read", "ReadShop", "Statement", "codedeploy:Get*"} {
			if strings.Contains(r.stderr, leak) {
				t.Fatalf("%v: the 403 discloses the policy (%q): %s", d.args, leak, r.stderr)
			}
		}
	}
	must(t, "nothing was written", cli("", "", "app", "get", "shop"), "shop")
	if r := cli("", "", "app", "get", "blog"); r.code == 0 {
		t.Fatalf("app blog was created: %+v", r)
	}

	// An explicit Deny in a group's policy overrides the Allow in the user's.
	freeze := "Version: slipway-2026-12\nStatement:\n  - Sid: FreezeShop\n    Effect: Deny\n    Action: codedeploy:GetApplication\n    Resource: srn:slipway:codedeploy:app/shop\n"
	must(t, "deny policy", cli("", freeze, "iam", "policy", "create", "freeze-shop", "--document", "-"))
	must(t, "group", cli("", "", "iam", "group", "create", "frozen"))
	must(t, "attach deny", cli("", "", "iam", "policy", "attach", "freeze-shop", "--group", "frozen"))
	must(t, "still allowed before joining", ana("app", "get", "shop"))
	must(t, "join", cli("", "", "iam", "group", "add-user", "frozen", "ana"))
	r = ana("app", "get", "shop")
	refused(t, "the group's Deny wins", r, ExitFailure, "not allowed: codedeploy:GetApplication on srn:slipway:codedeploy:app/shop")
	if strings.Contains(r.stderr, "freeze") || strings.Contains(r.stderr, "FreezeShop") {
		t.Fatalf("the 403 names the deny policy: %s", r.stderr)
	}
	must(t, "other reads of shop still allowed", ana("group", "get", "--app", "shop", "prod"))
	must(t, "leave", cli("", "", "iam", "group", "remove-user", "frozen", "ana"))
	must(t, "allowed again after leaving", ana("app", "get", "shop"), "shop")
}
