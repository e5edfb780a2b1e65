package acl_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// TestAssumeRole: a user the role trusts, whose own policies allow sts:AssumeRole, gets
// credentials acting with the role's policies only, for at most the role's max session; a user
// the role does not trust is refused, and so is a session without MFA for a role that requires
// it; a caller whose policies do not allow sts:AssumeRole is refused even when trusted.
func TestAssumeRole(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	admin := testutil.ManagementToken
	mustSend(t, http.StatusCreated, "POST", c.URL(0)+"/v1/iam/policies", admin, pub.PolicyPutRequest{Name: "assume",
		Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"srn:slipway:iam:role/*"}]}`}, nil)
	newUser(t, c, "alice", "assume")
	newUser(t, c, "bob", "assume")
	newUser(t, c, "carl") // trusted, but no policy of his allows sts:AssumeRole
	mustSend(t, http.StatusCreated, "POST", c.URL(0)+"/v1/iam/roles", admin, pub.RoleCreateRequest{Name: "deployer",
		Trust: []string{"user/alice", "user/carl"}, Policies: []string{"CodeDeployFullAccess", "STSReadOnlyAccess"}}, nil)
	mustSend(t, http.StatusCreated, "POST", c.URL(0)+"/v1/iam/roles", admin, pub.RoleCreateRequest{Name: "breakglass",
		Trust: []string{"user/*"}, RequireMFA: true, Policies: []string{"AdministratorAccess"}}, nil)

	session := func(user string) string {
		_, eb, tk := login(t, c, pub.LoginRequest{User: user, Password: testPassword})
		if tk.SecretID == "" {
			t.Fatalf("login %s: %+v", user, eb)
		}
		return tk.SecretID
	}
	alice := c.ClientWithToken(0, session("alice"))
	cr, err := alice.AssumeRole(ctx, "deployer", pub.AssumeRoleRequest{})
	if err != nil || cr.Secret == "" || cr.Role != "deployer" || cr.Source != "user/alice" {
		t.Fatalf("assume: %+v %v", cr, err)
	}
	if left := time.Until(cr.Expiration); left > time.Hour || left < 58*time.Minute {
		t.Fatalf("role session expires in %v; want the 1h default", left)
	}
	role := c.ClientWithToken(0, cr.Secret)
	// A role session has its policies only: GetCallerIdentity too comes from one (STSReadOnlyAccess).
	who, err := role.WhoAmI(ctx)
	if err != nil || who.Kind != "role" || who.Name != "deployer" || who.Source != "user/alice" {
		t.Fatalf("whoami as the role: %+v %v", who, err)
	}
	if _, err := role.AppCreate(ctx, pub.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatalf("the role creates an app: %v", err)
	}
	if code, _, _ := send(t, "GET", c.URL(0)+"/v1/iam/users", cr.Secret, nil); code != http.StatusForbidden {
		t.Fatalf("the role lists users: %d; want 403 (its policies only)", code)
	}
	if _, err := alice.AssumeRole(ctx, "deployer", pub.AssumeRoleRequest{Duration: "2h"}); pub.ErrorCode(err) != pub.CodeBadRequest || !strings.Contains(err.Error(), "longer than role deployer allows") {
		t.Fatalf("assume for 2h: %v; want 400", err)
	}
	if _, err := c.ClientWithToken(0, session("bob")).AssumeRole(ctx, "deployer", pub.AssumeRoleRequest{}); pub.ErrorCode(err) != pub.CodeForbidden || !strings.Contains(err.Error(), "does not trust user/bob") {
		t.Fatalf("bob, not trusted: %v; want 403", err)
	}
	if _, err := c.ClientWithToken(0, session("carl")).AssumeRole(ctx, "deployer", pub.AssumeRoleRequest{}); pub.ErrorCode(err) != pub.CodeForbidden || !strings.Contains(err.Error(), "sts:AssumeRole") {
		t.Fatalf("carl, trusted but without sts:AssumeRole: %v; want 403", err)
	}
	if _, err := alice.AssumeRole(ctx, "breakglass", pub.AssumeRoleRequest{}); pub.ErrorCode(err) != pub.CodeForbidden || !strings.Contains(err.Error(), "requires MFA") {
		t.Fatalf("breakglass without MFA: %v; want 403", err)
	}
	if err := role.Logout(ctx); err != nil {
		t.Fatalf("logout of the role session: %v", err)
	}
	if _, err := role.WhoAmI(ctx); pub.ErrorCode(err) != pub.CodeUnauthorized {
		t.Fatalf("role session after logout: %v", err)
	}
}
