package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/pkg/api"
)

// TestIAMTokenCommands makes a user's personal token, uses it as the bearer, lists and deletes
// it; a token made with --policy may do only what that policy allows too.
func TestIAMTokenCommands(t *testing.T) {
	_, cli := iamCLI(t)
	must(t, "user", cli("", "", "iam", "user", "create", "ana"))
	deployAll := `{"Version":"2012-10-17","Statement":[{"Sid":"Deploy","Effect":"Allow","Action":"codedeploy:*","Resource":"*"}]}`
	must(t, "policy", cli("", deployAll, "iam", "policy", "create", "deploy-all", "--document", "-"))
	must(t, "attach", cli("", "", "iam", "policy", "attach", "deploy-all", "--user", "ana"))
	must(t, "app", cli("", "", "app", "create", "shop"))

	r := cli("", "", "iam", "token", "create", "--user", "ana", "--name", "laptop", "--ttl", "24h", "--output", "json")
	var raw map[string]any
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &raw) != nil {
		t.Fatalf("create: %+v", r)
	}
	secret, _ := raw["secret"].(string)
	if !strings.HasPrefix(secret, "slw_") || raw["secret_id"] != secret || raw["user"] != "ana" || raw["type"] != api.TokenTypeUser || raw["expiration_time"] == nil {
		t.Fatalf("create --output json: want secret (and secret_id), user, type user and an expiry: %s", r.stdout)
	}
	accessor, _ := raw["accessor_id"].(string)
	must(t, "the token acts as ana", cli(secret, "", "app", "create", "web"), `Created app "web"`)
	must(t, "token self", cli(secret, "", "token", "self"), accessor, "laptop")
	must(t, "table create shows the secret once", cli("", "", "iam", "token", "create", "--user", "ana"), "Secret ID", "ana token", "will not be shown again")

	must(t, "list", cli("", "", "iam", "token", "list", "--user", "ana"), "ACCESSOR ID", accessor, "laptop", "ana token")
	if r := cli("", "", "iam", "token", "list", "--user", "ana", "--output", "json"); strings.Contains(r.stdout, secret) || strings.Contains(r.stdout, `"secret`) {
		t.Fatalf("list shows a secret: %s", r.stdout)
	}
	refused(t, "list without --user", cli("", "", "iam", "token", "list"), ExitUsage, "--user is required")
	refused(t, "list an unknown user", cli("", "", "iam", "token", "list", "--user", "nobody"), ExitFailure, "not found")
	refused(t, "create without --user", cli("", "", "iam", "token", "create"), ExitUsage, "--user is required")
	refused(t, "create for an unknown user", cli("", "", "iam", "token", "create", "--user", "nobody"), ExitFailure, "not found")
	refused(t, "create with a bad policy", cli("", "Version: slipway-2026-12\nStatement:\n  - Effect: Maybe\n", "iam", "token", "create", "--user", "ana", "--policy", "-"), ExitFailure, "line 3")

	// Narrowed: ana may do any codedeploy action; this token only read app shop.
	scope := writeFile(t, "scope.yaml", shopReadYAML)
	r = cli("", "", "iam", "token", "create", "--user", "ana", "--name", "reader", "--policy", scope, "--output", "json")
	var scoped struct {
		api.Token
		Secret string `json:"secret"`
	}
	decodeJSON(t, r, &scoped)
	if !scoped.Scoped {
		t.Fatalf("a token made with --policy is not scoped: %s", r.stdout)
	}
	must(t, "scoped read", cli(scoped.Secret, "", "app", "get", "shop"), "shop")
	refused(t, "scoped write", cli(scoped.Secret, "", "app", "create", "blog"), ExitFailure, "not allowed: codedeploy:CreateApplication on srn:slipway:codedeploy:app/*")
	refused(t, "scoped read of another app", cli(scoped.Secret, "", "app", "get", "web"), ExitFailure, "not allowed: codedeploy:GetApplication on srn:slipway:codedeploy:app/web")
	must(t, "the user's unscoped token still may", cli(secret, "", "app", "create", "blog"), `Created app "blog"`)

	must(t, "delete", cli("", "", "iam", "token", "delete", accessor), "Deleted token "+accessor)
	refused(t, "the deleted token", cli(secret, "", "app", "get", "shop"), ExitFailure, "the token was not accepted")
	refused(t, "delete twice", cli("", "", "iam", "token", "delete", accessor), ExitFailure, "not found")
}
