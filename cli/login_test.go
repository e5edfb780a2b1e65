package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/config"
)

const loginPassword = "correct horse battery staple"

// runIn runs the CLI as run does, with stdin and, when add is set, extra commands on the root
// (for commands another file's noun registers).
func runIn(t *testing.T, env map[string]string, stdin io.Reader, add func(root *cobra.Command, c *cli), args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	root, c := newRoot(Options{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	if add != nil {
		add(root, c)
		markRuntimeErrors(root)
	}
	root.SetIn(stdin)
	root.SetArgs(args)
	ctx := context.Background()
	code := ExitOK
	if cmd, err := root.ExecuteContextC(ctx); err != nil {
		msg, ec := c.describe(ctx, cmd, err)
		_, _ = io.WriteString(&errb, "Error: "+msg+"\n")
		code = ec
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// admin sends a request with the management token and fails the test on an unexpected status.
func admin(t *testing.T, c *testutil.Cluster, want int, method, path string, body, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, c.URL(0)+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+testutil.ManagementToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatal(err)
		}
	}
}

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// TestLoginFromTheCLI is the done-means from the command line: an administrator user
// signs in with a password, the session is kept in a 0600 file and used by later commands; once
// the user has MFA, that session (without MFA) is refused `app delete` with an error saying MFA
// is required; `slipway login` with the password and the TOTP code it asks for opens a session
// with MFA, which may delete. Logout revokes the session and removes it from the file.
func TestLoginFromTheCLI(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	cfg := t.TempDir()
	env := map[string]string{EnvAddr: c.URL(0), EnvConfigHome: cfg}
	admin(t, c, http.StatusCreated, "POST", "/v1/iam/users", api.UserCreateRequest{Name: "root", Password: loginPassword}, nil)
	admin(t, c, http.StatusOK, "POST", "/v1/iam/policies/AdministratorAccess/attach", api.PolicyAttachRequest{User: "root"}, nil)
	admin(t, c, http.StatusCreated, "POST", "/v1/apps", api.AppCreateRequest{Name: "shop"}, nil)

	if r := runIn(t, env, strings.NewReader("not the password\n"), nil, "login", "--user", "root", "--password-stdin"); r.code != ExitFailure || !strings.Contains(r.stderr, "user name or password is wrong") {
		t.Fatalf("login with a wrong password: %+v", r)
	}
	r := runIn(t, env, strings.NewReader(loginPassword+"\n"), nil, "login", "--user", "root", "--password-stdin")
	if r.code != 0 || !strings.Contains(r.stdout, "Signed in to "+c.URL(0)+" as root until ") {
		t.Fatalf("login: %+v", r)
	}
	file := filepath.Join(cfg, "slipway", "credentials.json")
	for path, want := range map[string]os.FileMode{file: 0o600, filepath.Dir(file): 0o700 | os.ModeDir} {
		if st, err := os.Stat(path); err != nil || st.Mode() != want {
			t.Fatalf("%s: %v %v; want mode %v", path, st.Mode(), err, want)
		}
	}
	if r := runIn(t, env, nil, nil, "whoami", "--output", "json"); r.code != 0 || !strings.Contains(r.stdout, `"name": "root"`) || !strings.Contains(r.stdout, `"mfa": false`) {
		t.Fatalf("whoami from the stored session: %+v", r)
	}

	// MFA for root, enrolled by the management token.
	var enr api.MFAEnrollment
	admin(t, c, http.StatusOK, "POST", "/v1/iam/users/root/mfa", struct{}{}, &enr)
	admin(t, c, http.StatusOK, "POST", "/v1/iam/users/root/mfa/confirm", api.MFAConfirmRequest{Code: totpCode(t, enr.Secret, time.Now())}, nil)
	if r := runIn(t, env, nil, nil, "app", "delete", "shop"); r.code != ExitFailure || !strings.Contains(r.stderr, "MFA is required") || strings.Contains(r.stderr, "management token") {
		t.Fatalf("app delete from a session without MFA: %+v; want refused, MFA is required (and no advice to use a management token)", r)
	}
	code := totpCode(t, enr.Secret, time.Now().Add(30*time.Second))
	r = runIn(t, env, strings.NewReader(loginPassword+"\n"+code+"\n"), nil, "login", "--user", "root", "--password-stdin")
	if r.code != 0 || !strings.Contains(r.stdout, "as root with MFA") {
		t.Fatalf("login with the code asked for: %+v", r)
	}
	if r := runIn(t, env, nil, nil, "app", "delete", "shop"); r.code != 0 {
		t.Fatalf("app delete from a session with MFA: %+v", r)
	}

	var f credentialsFile
	b, _ := os.ReadFile(file)
	_ = json.Unmarshal(b, &f)
	secret := f.Sessions[c.URL(0)].Secret
	if r := runIn(t, env, nil, nil, "logout"); r.code != 0 || !strings.Contains(r.stdout, "Logged out of "+c.URL(0)+" as root") {
		t.Fatalf("logout: %+v", r)
	}
	if b, _ := os.ReadFile(file); strings.Contains(string(b), secret) {
		t.Fatalf("the session is still in the file after logout: %s", b)
	}
	if _, err := c.ClientWithToken(0, secret).WhoAmI(context.Background()); api.ErrorCode(err) != api.CodeUnauthorized {
		t.Fatalf("the session after logout: %v; want unauthorized", err)
	}
	if r := runIn(t, env, nil, nil, "logout"); r.code != ExitFailure || !strings.Contains(r.stderr, "no session is stored") {
		t.Fatalf("logout again: %+v", r)
	}
}

// TestStoredSessionExpiredOrUnreachable: an expired stored session is not sent (the message of a
// session sent and refused would differ), and the 401 says
// when it expired and to sign in again; logout from a server that cannot be reached removes the
// session locally and says so.
func TestStoredSessionExpiredOrUnreachable(t *testing.T) {
	cfg := t.TempDir()
	path := filepath.Join(cfg, "slipway", "credentials.json")
	dead := "http://127.0.0.1:1"
	fake := newFakeAPI(t)
	exp := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	if err := saveCredentials(path, credentialsFile{Sessions: map[string]storedSession{
		fake.srv.URL: {Address: fake.srv.URL, Secret: "expired-secret", User: "ana", Expiration: exp},
		dead:         {Address: dead, Secret: "s", Accessor: "acc-1", User: "ana", Expiration: time.Now().Add(time.Hour)},
	}}); err != nil {
		t.Fatal(err)
	}
	r := runIn(t, map[string]string{EnvConfigHome: cfg, EnvAddr: fake.srv.URL}, nil, nil, "app", "list")
	if r.code != ExitFailure || !strings.Contains(r.stderr, "your session expired at 2026-12-01T10:00:00Z: run `slipway login`") {
		t.Fatalf("an expired session: %+v", r)
	}
	r = runIn(t, map[string]string{EnvConfigHome: cfg, EnvAddr: dead}, nil, nil, "logout")
	if r.code != ExitFailure || !regexp.MustCompile(`removed from .*credentials.json, but the server could not revoke it`).MatchString(r.stderr) {
		t.Fatalf("logout from an unreachable server: %+v", r)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), dead) || !strings.Contains(string(b), "expired-secret") {
		t.Fatalf("the file after logout: %s", b)
	}
}

// TestAssumeRoleAndMFAFromTheCLI: `sts assume-role --export` prints lines a shell evaluates into
// credentials that act as the role; `iam mfa enable` prints the URL and QR code, reads the code
// and prints the recovery codes once; `iam mfa disable` removes it.
func TestAssumeRoleAndMFAFromTheCLI(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	cfg := t.TempDir()
	env := map[string]string{EnvAddr: c.URL(0), EnvConfigHome: cfg}
	admin(t, c, http.StatusCreated, "POST", "/v1/iam/users", api.UserCreateRequest{Name: "ana", Password: loginPassword}, nil)
	admin(t, c, http.StatusOK, "POST", "/v1/iam/policies/STSFullAccess/attach", api.PolicyAttachRequest{User: "ana"}, nil)
	admin(t, c, http.StatusCreated, "POST", "/v1/iam/roles", api.RoleCreateRequest{Name: "deployer", Trust: []string{"user/ana"},
		Policies: []string{"CodeDeployFullAccess", "STSReadOnlyAccess"}}, nil)
	if r := runIn(t, env, strings.NewReader(loginPassword+"\n"), nil, "login", "--user", "ana", "--password-stdin", "--ttl", "1h"); r.code != 0 {
		t.Fatalf("login: %+v", r)
	}
	r := runIn(t, env, nil, nil, "sts", "assume-role", "deployer", "--duration", "30m", "--export")
	m := regexp.MustCompile(`(?m)^export SLIPWAY_TOKEN='([^']+)'$`).FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil || !strings.Contains(r.stdout, "export SLIPWAY_ADDR='"+c.URL(0)+"'") {
		t.Fatalf("assume-role --export: %+v", r)
	}
	roleEnv := map[string]string{EnvAddr: c.URL(0), EnvConfigHome: cfg, EnvToken: m[1]}
	if r := runIn(t, roleEnv, nil, nil, "whoami", "--output", "json"); r.code != 0 || !strings.Contains(r.stdout, `"kind": "role"`) || !strings.Contains(r.stdout, `"source": "user/ana"`) {
		t.Fatalf("whoami as the role: %+v", r)
	}
	if r := runIn(t, roleEnv, nil, nil, "app", "create", "web"); r.code != 0 {
		t.Fatalf("the role creates an app: %+v", r)
	}

	// MFA, enrolled by ana herself; the code is computed from the secret the command printed.
	var out bytes.Buffer
	addIAM := func(root *cobra.Command, cl *cli) {
		iam := nounCommand("iam", "identity", "")
		iam.AddCommand(cl.newIAMMFACmd())
		root.AddCommand(iam)
		root.SetOut(&out)
	}
	var stdout *bytes.Buffer
	codeIn := readerFunc(func(p []byte) (int, error) {
		m := regexp.MustCompile(`Secret: ([A-Z2-7]+)`).FindStringSubmatch(stdout.String())
		if m == nil {
			return 0, io.EOF
		}
		return copy(p, totpCode(t, m[1], time.Now())+"\n"), io.EOF
	})
	stdout = &bytes.Buffer{}
	r = runMFA(t, env, codeIn, addIAM, stdout, "iam", "mfa", "enable")
	if r.code != 0 || !strings.Contains(r.stdout, "otpauth://totp/Slipway:ana?secret=") || !strings.Contains(r.stdout, "MFA is enabled for ana. Recovery codes") {
		t.Fatalf("iam mfa enable: %+v", r)
	}
	if n := len(regexp.MustCompile(`(?m)^    [A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$`).FindAllString(r.stdout, -1)); n != 10 {
		t.Fatalf("%d recovery codes printed; want 10:\n%s", n, r.stdout)
	}
	var u api.User
	admin(t, c, http.StatusOK, "GET", "/v1/iam/users/ana", nil, &u)
	if !u.MFAEnabled {
		t.Fatal("ana has no MFA after enable")
	}
	// Ana's session has no MFA: turning it off needs one; the management token may.
	if r := runIn(t, env, nil, addIAM, "iam", "mfa", "disable"); r.code != ExitFailure || !strings.Contains(r.stderr, "MFA is required") {
		t.Fatalf("disable from a session without MFA: %+v", r)
	}
	if r := runIn(t, map[string]string{EnvAddr: c.URL(0), EnvToken: testutil.ManagementToken}, nil, addIAM, "iam", "mfa", "disable", "--user", "ana"); r.code != 0 || !strings.Contains(r.stdout, "MFA is disabled for ana") {
		t.Fatalf("disable by an administrator: %+v", r)
	}
}

type readerFunc func(p []byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// runMFA is runIn writing stdout to a buffer the test's stdin reader can look at.
func runMFA(t *testing.T, env map[string]string, stdin io.Reader, add func(*cobra.Command, *cli), stdout *bytes.Buffer, args ...string) result {
	t.Helper()
	var errb bytes.Buffer
	root, c := newRoot(Options{Stdout: stdout, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	add(root, c)
	markRuntimeErrors(root)
	root.SetIn(stdin)
	root.SetArgs(args)
	ctx := context.Background()
	code := ExitOK
	if cmd, err := root.ExecuteContextC(ctx); err != nil {
		msg, ec := c.describe(ctx, cmd, err)
		errb.WriteString("Error: " + msg + "\n")
		code = ec
	}
	return result{stdout: stdout.String(), stderr: errb.String(), code: code}
}

// TestBootstrapFirstAdministratorFromTheCLI: `acl bootstrap --user --password-stdin` makes the
// first administrator, who then signs in with `slipway login`.
func TestBootstrapFirstAdministratorFromTheCLI(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: func(_ int, cfg *config.Config) { cfg.InitialManagementTokenFile = "" }, NoToken: true})
	env := map[string]string{EnvAddr: c.URL(0), EnvConfigHome: t.TempDir()}
	r := runIn(t, env, strings.NewReader(loginPassword+"\n"), nil, "acl", "bootstrap", "--user", "admin", "--password-stdin")
	if r.code != 0 || !strings.Contains(r.stdout, "Secret ID:") || !strings.Contains(r.stdout, "User admin is the first administrator") {
		t.Fatalf("bootstrap --user: %+v", r)
	}
	if r := runIn(t, env, strings.NewReader(loginPassword+"\n"), nil, "login", "--user", "admin", "--password-stdin"); r.code != 0 {
		t.Fatalf("login of the first administrator: %+v", r)
	}
	if r := runIn(t, env, nil, nil, "app", "create", "web"); r.code != 0 {
		t.Fatalf("the first administrator creates an app: %+v", r)
	}
}
