package cli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// runIn runs the CLI as run does, with the environment env and stdin read from in.
func runIn(t *testing.T, env map[string]string, in string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	ctx := context.Background()
	root, c := newRoot(Options{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	root.SetIn(strings.NewReader(in))
	root.SetArgs(args)
	code := ExitOK
	if cmd, err := root.ExecuteContextC(ctx); err != nil {
		var msg string
		msg, code = c.describe(ctx, cmd, err)
		errb.WriteString("Error: " + msg + "\n")
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// iamCLI starts a one-server cluster and returns a runner of the CLI against it: as the
// management token, or as token when it is given. Address and token are given in the
// environment, as `iam policy attach --token ACCESSOR` needs.
func iamCLI(t *testing.T) (*testutil.Cluster, func(token, stdin string, args ...string) result) {
	t.Helper()
	c := testutil.NewCluster(t, 1)
	return c, func(token, stdin string, args ...string) result {
		t.Helper()
		if token == "" {
			token = testutil.ManagementToken
		}
		return runIn(t, map[string]string{EnvAddr: c.URL(0), EnvToken: token}, stdin, args...)
	}
}

// must fails the test unless r succeeded and its stdout holds every one of want.
func must(t *testing.T, what string, r result, want ...string) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: exit %d, stdout %q, stderr %q", what, r.code, r.stdout, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stdout, w) {
			t.Fatalf("%s: stdout %q does not hold %q", what, r.stdout, w)
		}
	}
}

// refused fails the test unless r failed with code and its stderr holds every one of want.
func refused(t *testing.T, what string, r result, code int, want ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: exit %d, want %d; stdout %q, stderr %q", what, r.code, code, r.stdout, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Fatalf("%s: stderr %q does not hold %q", what, r.stderr, w)
		}
	}
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestIAMUserCommands runs every `iam user` verb against a real server.
func TestIAMUserCommands(t *testing.T) {
	c, cli := iamCLI(t)
	must(t, "create with a password", cli("", "correct horse battery staple\n", "iam", "user", "create", "alice",
		"--display-name", "Alice Liddell", "--email", "alice@example.com", "--password-stdin"), `Created user "alice"`)
	r := cli("", "", "iam", "user", "create", "bob", "--output", "json")
	var bob api.User
	decodeJSON(t, r, &bob)
	if bob.Name != "bob" || bob.HasPassword || bob.ID == "" {
		t.Fatalf("create without a password: %+v", bob)
	}
	refused(t, "duplicate", cli("", "", "iam", "user", "create", "alice"), ExitFailure, "alice", "already exists")
	refused(t, "weak password", cli("", "short\n", "iam", "user", "create", "carol", "--password-stdin"), ExitFailure, "at least")
	if _, err := c.Client(0).UserCreate(context.Background(), api.UserCreateRequest{Name: "carol", Password: "short"}); api.ErrorCode(err) != api.CodeBadRequest {
		t.Fatalf("a weak password: %v (code %q), want bad_request (400): it is the caller's mistake", err, api.ErrorCode(err))
	}
	refused(t, "empty stdin", cli("", "", "iam", "user", "create", "carol", "--password-stdin"), ExitUsage, "stdin holds no password")

	must(t, "list", cli("", "", "iam", "user", "list"), "NAME", "alice", "Alice Liddell", "alice@example.com", "bob")
	r = cli("", "", "iam", "user", "get", "alice", "--output", "json")
	var alice api.User
	decodeJSON(t, r, &alice)
	if !alice.HasPassword || alice.Email != "alice@example.com" || alice.DisplayName != "Alice Liddell" {
		t.Fatalf("get: %+v", alice)
	}
	if strings.Contains(r.stdout, "horse") || strings.Contains(r.stdout, "hash") {
		t.Fatalf("get shows the password: %s", r.stdout)
	}
	must(t, "get table", cli("", "", "iam", "user", "get", "alice"), "Display Name", "Alice Liddell", "Password", "true")
	refused(t, "get unknown", cli("", "", "iam", "user", "get", "nobody"), ExitFailure, `user "nobody" not found`)

	must(t, "update", cli("", "", "iam", "user", "update", "alice", "--email", "alice@shop.example"), `Updated user "alice"`)
	must(t, "get after update", cli("", "", "iam", "user", "get", "alice"), "alice@shop.example", "Alice Liddell")
	refused(t, "update nothing", cli("", "", "iam", "user", "update", "alice"), ExitUsage, "give --display-name or --email")
	refused(t, "update a bad email", cli("", "", "iam", "user", "update", "alice", "--email", "not an address"), ExitFailure, "email")
	refused(t, "update unknown", cli("", "", "iam", "user", "update", "nobody", "--email", "a@b.example"), ExitFailure, "not found")

	must(t, "set-password", cli("", "another long passphrase\n", "iam", "user", "set-password", "bob", "--password-stdin"), `user "bob"`)
	must(t, "bob has a password", cli("", "", "iam", "user", "get", "bob"), "Password", "true")
	refused(t, "set-password without stdin flag", cli("", "", "iam", "user", "set-password", "bob"), ExitUsage, "--password-stdin is required")
	refused(t, "set-password unknown", cli("", "another long passphrase\n", "iam", "user", "set-password", "nobody", "--password-stdin"), ExitFailure, "not found")

	must(t, "unlock", cli("", "", "iam", "user", "unlock", "alice"), `Unlocked user "alice"`)
	refused(t, "unlock unknown", cli("", "", "iam", "user", "unlock", "nobody"), ExitFailure, "not found")

	must(t, "delete", cli("", "", "iam", "user", "delete", "bob"), `Deleted user "bob"`)
	refused(t, "get deleted", cli("", "", "iam", "user", "get", "bob"), ExitFailure, "not found")
	refused(t, "delete twice", cli("", "", "iam", "user", "delete", "bob"), ExitFailure, "not found")
}

// TestIAMGroupCommands runs every `iam group` verb against a real server.
func TestIAMGroupCommands(t *testing.T) {
	_, cli := iamCLI(t)
	must(t, "user", cli("", "", "iam", "user", "create", "alice"))
	must(t, "create", cli("", "", "iam", "group", "create", "deployers", "--description", "May deploy the shop"), `Created group "deployers"`)
	refused(t, "duplicate", cli("", "", "iam", "group", "create", "deployers"), ExitFailure, "already exists")
	must(t, "add-user", cli("", "", "iam", "group", "add-user", "deployers", "alice"), `Added user "alice" to group "deployers"`)
	refused(t, "add an unknown user", cli("", "", "iam", "group", "add-user", "deployers", "nobody"), ExitFailure, `user "nobody" not found`)
	refused(t, "add to an unknown group", cli("", "", "iam", "group", "add-user", "nogroup", "alice"), ExitFailure, `group "nogroup" not found`)
	r := cli("", "", "iam", "group", "get", "deployers", "--output", "json")
	var g api.IAMGroup
	decodeJSON(t, r, &g)
	if g.Description != "May deploy the shop" || len(g.Members) != 1 || g.Members[0] != "alice" {
		t.Fatalf("get: %+v", g)
	}
	must(t, "user shows the group", cli("", "", "iam", "user", "get", "alice"), "deployers")
	must(t, "list", cli("", "", "iam", "group", "list"), "deployers", "May deploy the shop")
	must(t, "remove-user", cli("", "", "iam", "group", "remove-user", "deployers", "alice"), `Removed user "alice" from group "deployers"`)
	must(t, "get after remove", cli("", "", "iam", "group", "get", "deployers"), "Members")
	if r := cli("", "", "iam", "group", "get", "deployers"); strings.Contains(r.stdout, "alice") {
		t.Fatalf("alice is still a member: %s", r.stdout)
	}
	must(t, "delete", cli("", "", "iam", "group", "delete", "deployers"), `Deleted group "deployers"`)
	refused(t, "get deleted", cli("", "", "iam", "group", "get", "deployers"), ExitFailure, "not found")
}

const shopReadYAML = `Version: slipway-2026-12
Statement:
  - Sid: ReadShop
    Effect: Allow
    Action: ["codedeploy:Get*", "codedeploy:List*"]
    Resource: ["srn:slipway:codedeploy:app/shop", "srn:slipway:codedeploy:app/shop/*"]
`

// TestIAMPolicyCommands runs every `iam policy` verb against a real server, documents as YAML,
// JSON and on stdin; a document that does not parse shows the diagnostic with its line.
func TestIAMPolicyCommands(t *testing.T) {
	_, cli := iamCLI(t)
	must(t, "user", cli("", "", "iam", "user", "create", "alice"))
	must(t, "group", cli("", "", "iam", "group", "create", "deployers"))
	file := writeFile(t, "shop-read.yaml", shopReadYAML)
	must(t, "create from YAML", cli("", "", "iam", "policy", "create", "shop-read", "--document", file, "--description", "Read the shop"), `Created policy "shop-read" (version 1)`)
	refused(t, "duplicate", cli("", "", "iam", "policy", "create", "shop-read", "--document", file), ExitFailure, "already exists")
	doc := `{"Version":"2012-10-17","Statement":[{"Sid":"All","Effect":"Allow","Action":"codedeploy:*","Resource":"*"}]}`
	must(t, "create from stdin", cli("", doc, "iam", "policy", "create", "deploy-all", "--document", "-"), `Created policy "deploy-all"`)

	bad := "Version: slipway-2026-12\nStatement:\n  - Effect: Allow\n    Action: codedeploy:Get*\n    Resource: \"*\"\n    Condition:\n      StringEqualz:\n        slipway:SourceIp: 10.0.0.1\n"
	r := cli("", "", "iam", "policy", "create", "broken", "--document", writeFile(t, "broken.yaml", bad))
	refused(t, "a bad document", r, ExitFailure, "StringEqualz", "line 7")
	refused(t, "no document", cli("", "", "iam", "policy", "create", "x"), ExitUsage, "--document is required")
	refused(t, "a missing file", cli("", "", "iam", "policy", "create", "x", "--document", "/nonexistent/p.json"), ExitFailure, "--document")

	r = cli("", "", "iam", "policy", "get", "shop-read")
	must(t, "get prints the document", r, `"Sid": "ReadShop"`, `"codedeploy:Get*"`, "srn:slipway:codedeploy:app/shop/*")
	var parsed map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &parsed); err != nil || parsed["Statement"] == nil {
		t.Fatalf("get: not the document as JSON (%v): %s", err, r.stdout)
	}
	must(t, "get a managed policy", cli("", "", "iam", "policy", "get", "AdministratorAccess"), "FullAccess")
	refused(t, "get unknown", cli("", "", "iam", "policy", "get", "nope"), ExitFailure, `policy "nope" not found`)
	must(t, "list", cli("", "", "iam", "policy", "list"), "AdministratorAccess", "managed", "shop-read", "customer", "Read the shop")

	must(t, "update", cli("", strings.Replace(shopReadYAML, "ReadShop", "ReadShopV2", 1), "iam", "policy", "update", "shop-read", "--document", "-"), "version 2")
	must(t, "get after update", cli("", "", "iam", "policy", "get", "shop-read"), "ReadShopV2")
	refused(t, "update a managed policy", cli("", "", "iam", "policy", "update", "ReadOnlyAccess", "--document", file), ExitFailure, "built-in")
	refused(t, "update with a bad document", cli("", bad, "iam", "policy", "update", "shop-read", "--document", "-"), ExitFailure, "line 7")

	must(t, "attach to a user", cli("", "", "iam", "policy", "attach", "shop-read", "--user", "alice"), `Attached policy "shop-read" to user "alice"`)
	must(t, "attach to a group", cli("", "", "iam", "policy", "attach", "deploy-all", "--group", "deployers"), `to group "deployers"`)
	must(t, "attach a managed policy", cli("", "", "iam", "policy", "attach", "ReadOnlyAccess", "--user", "alice"))
	must(t, "user shows policies", cli("", "", "iam", "user", "get", "alice"), "shop-read", "ReadOnlyAccess")
	refused(t, "attach to two principals", cli("", "", "iam", "policy", "attach", "shop-read", "--user", "alice", "--group", "deployers"), ExitUsage, "exactly one of --user, --group, --token and --role")
	refused(t, "attach to a secret", cli("", "", "iam", "policy", "attach", "shop-read", "--token", testutil.ManagementToken), ExitUsage, "accessor ID")
	if r := cli("", "", "iam", "policy", "attach", "shop-read", "--token", testutil.ManagementToken); strings.Contains(r.stderr, testutil.ManagementToken) {
		t.Fatalf("the refusal echoes the secret: %s", r.stderr)
	}
	refused(t, "attach to nobody", cli("", "", "iam", "policy", "attach", "shop-read"), ExitUsage, "exactly one")
	refused(t, "attach to an unknown user", cli("", "", "iam", "policy", "attach", "shop-read", "--user", "nobody"), ExitFailure, "not found")
	refused(t, "attach an unknown policy", cli("", "", "iam", "policy", "attach", "nope", "--user", "alice"), ExitFailure, "not found")
	refused(t, "delete an attached policy", cli("", "", "iam", "policy", "delete", "shop-read"), ExitFailure, "attached")

	tok := cli("", "", "token", "create", "--name", "ci", "--output", "json")
	var ci api.Token
	decodeJSON(t, tok, &ci)
	must(t, "attach to a token", cli("", "", "iam", "policy", "attach", "deploy-all", "--token", ci.AccessorID), "to token")
	must(t, "token shows it", cli("", "", "token", "get", ci.AccessorID), "deploy-all")
	must(t, "detach from the token", cli("", "", "iam", "policy", "detach", "deploy-all", "--token", ci.AccessorID), `Detached policy "deploy-all" from token`)

	must(t, "detach from the user", cli("", "", "iam", "policy", "detach", "shop-read", "--user", "alice"), `Detached policy "shop-read" from user "alice"`)
	must(t, "delete", cli("", "", "iam", "policy", "delete", "shop-read"), `Deleted policy "shop-read"`)
	refused(t, "delete a managed policy", cli("", "", "iam", "policy", "delete", "AdministratorAccess"), ExitFailure, "built-in")
}

func publicKeyLine(t *testing.T, comment string) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) + " " + comment + "\n"
}

// TestIAMKeyCommands adds, lists and removes a user's SSH keys against a real server.
func TestIAMKeyCommands(t *testing.T) {
	_, cli := iamCLI(t)
	must(t, "users", cli("", "", "iam", "user", "create", "alice"))
	must(t, "users", cli("", "", "iam", "user", "create", "bob"))
	line := publicKeyLine(t, "alice@laptop")
	file := writeFile(t, "id_ed25519.pub", line)
	r := cli("", "", "iam", "key", "add", "alice", file)
	must(t, "add", r, "SHA256:")
	fp := strings.TrimSpace(r.stdout)
	refused(t, "the same key for another user", cli("", "", "iam", "key", "add", "bob", file), ExitFailure, "alice")
	refused(t, "a private key", cli("", "-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n", "iam", "key", "add", "bob", "-"), ExitFailure, "private key")
	refused(t, "an unknown user", cli("", publicKeyLine(t, "x"), "iam", "key", "add", "nobody", "-"), ExitFailure, "not found")
	r = cli("", publicKeyLine(t, "bob@ci"), "iam", "key", "add", "bob", "-", "--output", "json")
	var k api.SSHKey
	decodeJSON(t, r, &k)
	if k.User != "bob" || k.Type != "ssh-ed25519" || k.Comment != "bob@ci" {
		t.Fatalf("add --output json: %+v", k)
	}
	must(t, "list", cli("", "", "iam", "key", "list", "alice"), "FINGERPRINT", fp, "ssh-ed25519", "alice@laptop")
	if r := cli("", "", "iam", "key", "list", "alice"); strings.Contains(r.stdout, k.Fingerprint) {
		t.Fatalf("alice's list shows bob's key: %s", r.stdout)
	}
	refused(t, "remove bob's key as alice's", cli("", "", "iam", "key", "remove", "alice", k.Fingerprint), ExitFailure)
	must(t, "remove", cli("", "", "iam", "key", "remove", "alice", fp), "Removed key "+fp)
	if r := cli("", "", "iam", "key", "list", "alice"); strings.Contains(r.stdout, fp) {
		t.Fatalf("removed key still listed: %s", r.stdout)
	}
	refused(t, "remove twice", cli("", "", "iam", "key", "remove", "alice", fp), ExitFailure, "not found")
}

// TestIAMRoleCommands creates, lists, shows and deletes roles against a real server.
func TestIAMRoleCommands(t *testing.T) {
	_, cli := iamCLI(t)
	must(t, "create", cli("", "", "iam", "role", "create", "deployer", "--trust", "user/alice", "--trust", "group/ci",
		"--policy", "CodeDeployFullAccess", "--require-mfa", "--max-session", "2h"), `Created role "deployer"`)
	refused(t, "duplicate", cli("", "", "iam", "role", "create", "deployer", "--trust", "user/alice"), ExitFailure, "already exists")
	refused(t, "without trust", cli("", "", "iam", "role", "create", "r2"), ExitUsage, "--trust is required")
	refused(t, "a bad trust", cli("", "", "iam", "role", "create", "r2", "--trust", "alice"), ExitFailure, "user/NAME")
	refused(t, "an unknown policy", cli("", "", "iam", "role", "create", "r2", "--trust", "user/alice", "--policy", "nope"), ExitFailure, "nope")
	refused(t, "too long a session", cli("", "", "iam", "role", "create", "r2", "--trust", "user/alice", "--max-session", "24h"), ExitFailure, "max session")
	r := cli("", "", "iam", "role", "get", "deployer", "--output", "json")
	var role api.Role
	decodeJSON(t, r, &role)
	if !role.RequireMFA || role.MaxSession != "2h0m0s" || strings.Join(role.Trust, ",") != "group/ci,user/alice" || strings.Join(role.Policies, ",") != "CodeDeployFullAccess" {
		t.Fatalf("get: %+v", role)
	}
	must(t, "get table", cli("", "", "iam", "role", "get", "deployer"), "Require MFA", "true", "group/ci, user/alice")
	must(t, "list", cli("", "", "iam", "role", "list"), "deployer", "CodeDeployFullAccess", "2h0m0s")
	must(t, "delete", cli("", "", "iam", "role", "delete", "deployer"), `Deleted role "deployer"`)
	refused(t, "get deleted", cli("", "", "iam", "role", "get", "deployer"), ExitFailure, `role "deployer" not found`)
}
