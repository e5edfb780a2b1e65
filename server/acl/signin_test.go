package acl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/acl"
	"github.com/slipwayhq/slipway/server/core/config"
)

const testPassword = "correct horse battery staple"

// post sends a JSON body (nil: none) with a token ("" for none) and returns the status, the
// error body and the raw answer.
func send(t *testing.T, method, url, token string, body any) (int, pub.ErrorBody, []byte) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	return call(t, method, url, token, rd)
}

// mustSend is send that fails the test unless the answer is want, and decodes it into out.
func mustSend(t *testing.T, want int, method, url, token string, body, out any) {
	t.Helper()
	code, _, raw := send(t, method, url, token, body)
	if code != want {
		t.Fatalf("%s %s: %d %s; want %d", method, url, code, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, url, raw, err)
		}
	}
}

// newUser creates a user with testPassword and attaches policies to them.
func newUser(t *testing.T, c *testutil.Cluster, name string, policies ...string) {
	t.Helper()
	mustSend(t, http.StatusCreated, "POST", c.URL(0)+"/v1/iam/users", testutil.ManagementToken, pub.UserCreateRequest{Name: name, Password: testPassword}, nil)
	for _, p := range policies {
		mustSend(t, http.StatusOK, "POST", c.URL(0)+"/v1/iam/policies/"+p+"/attach", testutil.ManagementToken, pub.PolicyAttachRequest{User: name}, nil)
	}
}

func login(t *testing.T, c *testutil.Cluster, req pub.LoginRequest) (int, pub.ErrorBody, pub.Token) {
	t.Helper()
	code, eb, raw := send(t, "POST", c.URL(0)+"/v1/iam/login", "", req)
	var tk pub.Token
	if code == http.StatusOK {
		if err := json.Unmarshal(raw, &tk); err != nil {
			t.Fatal(err)
		}
	}
	return code, eb, tk
}

// codeAt is the TOTP code of secret for the time step after now's (accepted as clock skew), so
// that a code computed right after another's step is still new.
func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// TestLoginWithPassword: a right password opens a 12h session acting as the user; a wrong
// password and an unknown user get the same 401; logout revokes the session it presents and
// refuses to end a service token.
func TestLoginWithPassword(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	newUser(t, c, "alice")
	code, eb, tk := login(t, c, pub.LoginRequest{User: "alice", Password: testPassword})
	if code != http.StatusOK || tk.SecretID == "" || tk.Type != pub.TokenTypeSession || tk.User != "alice" || tk.MFA {
		t.Fatalf("login: %d %+v %+v", code, eb, tk)
	}
	if tk.ExpirationTime == nil || time.Until(*tk.ExpirationTime) > pub.DefaultSessionTTL || time.Until(*tk.ExpirationTime) < pub.DefaultSessionTTL-time.Minute {
		t.Fatalf("session expiry %v; want about 12h from now", tk.ExpirationTime)
	}
	who, err := c.ClientWithToken(0, tk.SecretID).WhoAmI(context.Background())
	if err != nil || who.Kind != "user" || who.Name != "alice" || who.TokenType != pub.TokenTypeSession {
		t.Fatalf("whoami: %+v %v", who, err)
	}

	_, wrong, _ := login(t, c, pub.LoginRequest{User: "alice", Password: "not the password at all"})
	_, unknown, _ := login(t, c, pub.LoginRequest{User: "nobody", Password: testPassword})
	if wrong.Error.Code != pub.CodeUnauthorized || wrong != unknown || wrong.Error.Message != "user name or password is wrong" {
		t.Fatalf("wrong password %+v, unknown user %+v: want the same 401", wrong, unknown)
	}
	if code, _, _ := login(t, c, pub.LoginRequest{User: "alice", Password: testPassword, TTL: "200h"}); code != http.StatusBadRequest {
		t.Fatalf("ttl over 7 days: %d; want 400", code)
	}

	if code, eb, _ := send(t, "DELETE", c.URL(0)+"/v1/sts/session", testutil.ManagementToken, nil); code != http.StatusBadRequest || !strings.Contains(eb.Error.Message, "not a session") {
		t.Fatalf("logout with a management token: %d %+v; want 400", code, eb)
	}
	mustSend(t, http.StatusNoContent, "DELETE", c.URL(0)+"/v1/sts/session", tk.SecretID, nil, nil)
	if _, err := c.ClientWithToken(0, tk.SecretID).WhoAmI(context.Background()); pub.ErrorCode(err) != pub.CodeUnauthorized {
		t.Fatalf("whoami after logout: %v; want unauthorized", err)
	}
}

// TestLoginWithMFA is the done-means on the server: an administrator user enrolled in
// MFA signs in with password and code; a code works once, a recovery code once; a session
// without MFA is refused an MFA-protected delete with an error saying MFA is required, and a
// session with MFA may do it.
func TestLoginWithMFA(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	newUser(t, c, "root", "AdministratorAccess")
	if _, err := c.Client(0).AppCreate(ctx, pub.AppCreateRequest{Name: "shop"}); err != nil {
		t.Fatal(err)
	}
	_, _, plain := login(t, c, pub.LoginRequest{User: "root", Password: testPassword})
	if plain.SecretID == "" {
		t.Fatal("no session before MFA")
	}

	// Enrol from the user's own session (self-service), confirm with a code.
	var enr pub.MFAEnrollment
	mustSend(t, http.StatusOK, "POST", c.URL(0)+"/v1/iam/users/root/mfa", plain.SecretID, struct{}{}, &enr)
	if enr.Secret == "" || !strings.HasPrefix(enr.OTPAuthURL, "otpauth://totp/") || enr.QR == "" {
		t.Fatalf("enrolment: %+v", enr)
	}
	if code, _, _ := send(t, "POST", c.URL(0)+"/v1/iam/users/root/mfa/confirm", plain.SecretID, pub.MFAConfirmRequest{Code: "000000"}); code != http.StatusBadRequest {
		t.Fatalf("confirm with a wrong code: %d; want 400", code)
	}
	var conf pub.MFAConfirmation
	mustSend(t, http.StatusOK, "POST", c.URL(0)+"/v1/iam/users/root/mfa/confirm", plain.SecretID, pub.MFAConfirmRequest{Code: codeAt(t, enr.Secret, time.Now())}, &conf)
	if len(conf.RecoveryCodes) != 10 {
		t.Fatalf("recovery codes: %v", conf.RecoveryCodes)
	}

	code, eb, _ := login(t, c, pub.LoginRequest{User: "root", Password: testPassword})
	if code != http.StatusUnauthorized || eb.Error.Code != pub.CodeMFARequired {
		t.Fatalf("login without a code: %d %+v; want 401 mfa_required", code, eb)
	}
	next := codeAt(t, enr.Secret, time.Now().Add(30*time.Second))
	code, eb, mfa := login(t, c, pub.LoginRequest{User: "root", Password: testPassword, Code: next})
	if code != http.StatusOK || !mfa.MFA {
		t.Fatalf("login with a code: %d %+v %+v", code, eb, mfa)
	}
	if code, eb, _ := login(t, c, pub.LoginRequest{User: "root", Password: testPassword, Code: next}); code != http.StatusUnauthorized || eb.Error.Code != pub.CodeUnauthorized {
		t.Fatalf("the same code again: %d %+v; want 401", code, eb)
	}
	rc := conf.RecoveryCodes[3]
	code, eb, rec := login(t, c, pub.LoginRequest{User: "root", Password: testPassword, RecoveryCode: strings.ToLower(rc)})
	if code != http.StatusOK || !rec.MFA {
		t.Fatalf("login with a recovery code: %d %+v", code, eb)
	}
	if code, _, _ := login(t, c, pub.LoginRequest{User: "root", Password: testPassword, RecoveryCode: rc}); code != http.StatusUnauthorized {
		t.Fatalf("the same recovery code again: %d; want 401", code)
	}

	// The done-means: no MFA, no delete; MFA, delete.
	err := c.ClientWithToken(0, plain.SecretID).AppDelete(ctx, "shop")
	if pub.ErrorCode(err) != pub.CodeForbidden || !strings.Contains(err.Error(), "MFA is required") {
		t.Fatalf("delete from a session without MFA: %v; want 403 saying MFA is required", err)
	}
	if err := c.ClientWithToken(0, mfa.SecretID).AppDelete(ctx, "shop"); err != nil {
		t.Fatalf("delete from a session with MFA: %v", err)
	}

}

// TestMFASelfService: a user without any policy enrols and confirms their own MFA from a
// session, cannot enrol someone else's, and turns MFA off only from a session opened with MFA;
// then sign-in takes the password alone.
func TestMFASelfService(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	newUser(t, c, "erin")
	newUser(t, c, "frank")
	_, _, plain := login(t, c, pub.LoginRequest{User: "erin", Password: testPassword})
	if code, _, _ := send(t, "POST", c.URL(0)+"/v1/iam/users/frank/mfa", plain.SecretID, struct{}{}); code != http.StatusForbidden {
		t.Fatalf("enrol another user's MFA: %d; want 403", code)
	}
	var enr pub.MFAEnrollment
	mustSend(t, http.StatusOK, "POST", c.URL(0)+"/v1/iam/users/erin/mfa", plain.SecretID, struct{}{}, &enr)
	mustSend(t, http.StatusOK, "POST", c.URL(0)+"/v1/iam/users/erin/mfa/confirm", plain.SecretID, pub.MFAConfirmRequest{Code: codeAt(t, enr.Secret, time.Now())}, nil)
	code, eb, mfa := login(t, c, pub.LoginRequest{User: "erin", Password: testPassword, Code: codeAt(t, enr.Secret, time.Now().Add(30*time.Second))})
	if code != http.StatusOK || !mfa.MFA {
		t.Fatalf("login with a code: %d %+v", code, eb)
	}
	if code, eb, _ := send(t, "DELETE", c.URL(0)+"/v1/iam/users/erin/mfa", plain.SecretID, nil); code != http.StatusForbidden || !strings.Contains(eb.Error.Message, "MFA is required") {
		t.Fatalf("disable MFA without MFA: %d %+v; want 403 saying MFA is required", code, eb)
	}
	mustSend(t, http.StatusNoContent, "DELETE", c.URL(0)+"/v1/iam/users/erin/mfa", mfa.SecretID, nil, nil)
	if code, eb, _ := login(t, c, pub.LoginRequest{User: "erin", Password: testPassword}); code != http.StatusOK {
		t.Fatalf("login after MFA off: %d %+v", code, eb)
	}
}

// TestLoginLockout: LockoutFailures wrong passwords lock the user on every server, saying until
// when, even for the right password; an administrator unlocks; a success resets the count.
func TestLoginLockout(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	newUser(t, c, "bob")
	newUser(t, c, "carol")
	bad := pub.LoginRequest{User: "bob", Password: "wrong password, try again"}
	for i := range 5 {
		if code, eb, _ := login(t, c, bad); code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %+v", i+1, code, eb)
		}
	}
	code, eb, _ := login(t, c, pub.LoginRequest{User: "bob", Password: testPassword})
	if code != http.StatusForbidden || !strings.Contains(eb.Error.Message, "account bob is locked after 5 failed sign-ins until ") ||
		!strings.Contains(eb.Error.Message, "(in 15m)") || !strings.Contains(eb.Error.Message, "`slipway iam user unlock bob`") {
		t.Fatalf("login of a locked user: %d %+v", code, eb)
	}
	var u pub.User
	mustSend(t, http.StatusOK, "GET", c.URL(0)+"/v1/iam/users/bob", testutil.ManagementToken, nil, &u)
	if u.LockedUntil == nil || time.Until(*u.LockedUntil) < 14*time.Minute {
		t.Fatalf("bob's lock in the state: %v", u.LockedUntil)
	}
	mustSend(t, http.StatusNoContent, "POST", c.URL(0)+"/v1/iam/users/bob/unlock", testutil.ManagementToken, nil, nil)
	if code, eb, _ := login(t, c, pub.LoginRequest{User: "bob", Password: testPassword}); code != http.StatusOK {
		t.Fatalf("login after unlock: %d %+v", code, eb)
	}

	// A success forgets the failures before it.
	for range 4 {
		login(t, c, pub.LoginRequest{User: "carol", Password: "wrong password, try again"})
	}
	if code, _, _ := login(t, c, pub.LoginRequest{User: "carol", Password: testPassword}); code != http.StatusOK {
		t.Fatalf("carol's fifth attempt, right: %d", code)
	}
	for range 4 {
		login(t, c, pub.LoginRequest{User: "carol", Password: "wrong password, try again"})
	}
	if code, eb, _ := login(t, c, pub.LoginRequest{User: "carol", Password: testPassword}); code != http.StatusOK {
		t.Fatalf("carol after a success and 4 failures: %d %+v; want not locked", code, eb)
	}
}

// TestLoginAddressLimit: past AddressFailures failed sign-ins from one address (whatever the
// names), the address gets 429 with Retry-After, even for a right password. The bucket refills
// one failure per AddressWindow/AddressFailures (45 s): on a slow machine the 20 password checks
// may take that long, so the test goes on failing (a few more at most) until the first 429,
// then asks with the right password at once.
func TestLoginAddressLimit(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	newUser(t, c, "dave")
	for i := range acl.AddressFailures {
		if code, eb, _ := login(t, c, pub.LoginRequest{User: "guess" + string(rune('a'+i)), Password: "wrong password, try again"}); code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %+v", i+1, code, eb)
		}
	}
	for extra := 0; ; extra++ {
		code, eb, _ := login(t, c, pub.LoginRequest{User: "guess-more", Password: "wrong password, try again"})
		if code == http.StatusTooManyRequests {
			break
		}
		if code != http.StatusUnauthorized || extra == 5 {
			t.Fatalf("failure %d past the limit: %d %+v; want 429 (or 401 while the bucket refilled)", acl.AddressFailures+extra+1, code, eb)
		}
	}
	b, _ := json.Marshal(pub.LoginRequest{User: "dave", Password: testPassword})
	resp, err := http.Post(c.URL(0)+"/v1/iam/login", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("the right password past the limit: %d Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// TestBootstrapFirstAdministrator: bootstrap with a user creates the management token and that
// user with AdministratorAccess in one operation; the user signs in and administers; a second
// bootstrap, with or without a user, is refused and creates no user. A bad password is refused
// before anything is proposed, and the cluster can still be bootstrapped after.
func TestBootstrapFirstAdministrator(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: func(_ int, cfg *config.Config) { cfg.InitialManagementTokenFile = "" }, NoToken: true})
	ctx := context.Background()
	anon := c.ClientWithToken(0, "")
	if _, err := anon.ACLBootstrapAdmin(ctx, "root", "short"); pub.ErrorCode(err) != pub.CodeBadRequest {
		t.Fatalf("bootstrap with a short password: %v; want 400", err)
	}
	tk, err := anon.ACLBootstrapAdmin(ctx, "root", testPassword)
	if err != nil || tk.Type != pub.TokenTypeManagement || tk.SecretID == "" {
		t.Fatalf("bootstrap with a user: %+v %v", tk, err)
	}
	_, eb, sess := login(t, c, pub.LoginRequest{User: "root", Password: testPassword})
	if sess.SecretID == "" {
		t.Fatalf("the first administrator signs in: %+v", eb)
	}
	var who pub.CallerIdentity
	mustSend(t, http.StatusOK, "GET", c.URL(0)+"/v1/sts/caller-identity", sess.SecretID, nil, &who)
	if who.Name != "root" || len(who.Policies) != 1 || who.Policies[0] != "AdministratorAccess" {
		t.Fatalf("the first administrator: %+v", who)
	}
	if _, err := c.ClientWithToken(0, sess.SecretID).AppCreate(ctx, pub.AppCreateRequest{Name: "shop"}); err != nil {
		t.Fatalf("the first administrator creates an app: %v", err)
	}
	if _, err := anon.ACLBootstrapAdmin(ctx, "eve", testPassword); !pub.IsConflict(err) {
		t.Fatalf("second bootstrap with a user: %v; want conflict", err)
	}
	if code, _, _ := send(t, "GET", c.URL(0)+"/v1/iam/users/eve", tk.SecretID, nil); code != http.StatusNotFound {
		t.Fatalf("user of the refused bootstrap: %d; want 404", code)
	}
}

// TestSignInAcrossServers: a TOTP code accepted by one server is refused by another, and a lock
// proposed by the server that counted the failures holds on the others.
func TestSignInAcrossServers(t *testing.T) {
	c := testutil.NewCluster(t, 3)
	newUser(t, c, "gwen")
	newUser(t, c, "hal")
	var enr pub.MFAEnrollment
	mustSend(t, http.StatusOK, "POST", c.URL(0)+"/v1/iam/users/gwen/mfa", testutil.ManagementToken, struct{}{}, &enr)
	mustSend(t, http.StatusOK, "POST", c.URL(0)+"/v1/iam/users/gwen/mfa/confirm", testutil.ManagementToken, pub.MFAConfirmRequest{Code: codeAt(t, enr.Secret, time.Now())}, nil)
	loginAt := func(i int, req pub.LoginRequest) (int, pub.ErrorBody) {
		code, eb, _ := send(t, "POST", c.URL(i)+"/v1/iam/login", "", req)
		return code, eb
	}
	code := codeAt(t, enr.Secret, time.Now().Add(30*time.Second))
	testutil.Eventually(t, 10*time.Second, func() error { // server 1 may not have applied the confirmation yet
		if st, eb := loginAt(1, pub.LoginRequest{User: "gwen", Password: testPassword, Code: code}); st != http.StatusOK {
			return fmt.Errorf("login with a code on server 1: %d %+v", st, eb)
		}
		return nil
	})
	if st, eb := loginAt(2, pub.LoginRequest{User: "gwen", Password: testPassword, Code: code}); st != http.StatusUnauthorized {
		t.Fatalf("the same code on server 2: %d %+v; want 401", st, eb)
	}

	for range 5 {
		loginAt(0, pub.LoginRequest{User: "hal", Password: "wrong password, try again"})
	}
	testutil.Eventually(t, 10*time.Second, func() error {
		if st, eb := loginAt(2, pub.LoginRequest{User: "hal", Password: testPassword}); st != http.StatusForbidden || !strings.Contains(eb.Error.Message, "is locked") {
			return fmt.Errorf("hal on server 2: %d %+v; want locked", st, eb)
		}
		return nil
	})
}
