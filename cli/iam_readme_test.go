package cli

import (
	"os"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/pkg/api"
)

// readmePolicy returns the policy document the README's tour writes to file, from its heredoc.
func readmePolicy(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "cat > "+file+" <<'EOF'\n")
	if !ok {
		t.Fatalf("README.md has no heredoc writing %s", file)
	}
	doc, _, ok := strings.Cut(rest, "\nEOF\n")
	if !ok {
		t.Fatalf("README.md: the heredoc writing %s does not end", file)
	}
	return doc + "\n"
}

// TestREADMECIToken runs the README tour's `ci` token: a client (service) token with the
// tour's customer policy attached pushes and deploys app hello, and may not push or deploy
// another app or write anything else.
func TestREADMECIToken(t *testing.T) {
	_, cli := iamCLI(t)
	must(t, "app", cli("", "", "app", "create", "hello"))
	must(t, "app", cli("", "", "app", "create", "web"))
	must(t, "group", cli("", "", "group", "create", "--app", "hello", "web", "--tag", "env=dev"))
	must(t, "group", cli("", "", "group", "create", "--app", "web", "web", "--tag", "env=dev"))
	r := cli("", "", "token", "create", "--name", "ci", "--ttl", "720h", "--output", "json")
	var ci api.Token
	decodeJSON(t, r, &ci)
	must(t, "policy from the README", cli("", readmePolicy(t, "ci-hello.yaml"), "iam", "policy", "create", "ci-hello", "--document", "-"))
	must(t, "attach", cli("", "", "iam", "policy", "attach", "ci-hello", "--token", ci.AccessorID))

	bundle := simpleBundle(t, "readme-ci", false)
	r = cli(ci.SecretID, "", "revision", "push", "--app", "hello", bundle, "--output", "json")
	var rev api.Revision
	decodeJSON(t, r, &rev)
	r = cli(ci.SecretID, "", "deploy", "create", "--app", "hello", "--group", "web", "--revision", rev.ID)
	if strings.Contains(r.stderr, "not allowed") {
		t.Fatalf("the ci token may not deploy hello: %+v", r)
	}
	for _, args := range [][]string{
		{"revision", "push", "--app", "web", bundle},
		{"app", "create", "blog"},
		{"app", "delete", "hello"},
		{"group", "create", "--app", "hello", "prod", "--tag", "env=prod"},
		{"kv", "put", "settings/x", "1"},
		{"token", "create", "--name", "more"},
		{"deploy", "create", "--app", "web", "--group", "web", "--revision", rev.ID},
	} {
		refused(t, strings.Join(args, " "), cli(ci.SecretID, "", args...), ExitFailure, "not allowed", `token "ci", a client token`)
	}
	r = cli("", "", "iam", "simulate", "--principal", "token/"+ci.AccessorID, "--action", "codedeploy:CreateDeployment", "--resource", "srn:slipway:codedeploy:app/web/group/web")
	refused(t, "simulate as in the README", r, ExitDenied, "implicit deny")
}
