package acl_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// TestSignInIsAudited: a sign-in's session is recorded under the user who signed in, and a
// refused one as a denial under the name given (anonymous: a wrong password proves no one).
func TestSignInIsAudited(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	newUser(t, c, "ivy")
	if code, _, raw := send(t, "POST", c.URL(0)+"/v1/iam/login", "", pub.LoginRequest{User: "ivy", Password: "not the password at all"}); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d %s", code, raw)
	}
	mustSend(t, http.StatusOK, "POST", c.URL(0)+"/v1/iam/login", "", pub.LoginRequest{User: "ivy", Password: testPassword}, nil)
	testutil.Eventually(t, 10*time.Second, func() error {
		var l pub.AuditRecordList
		mustSend(t, http.StatusOK, "GET", c.URL(0)+"/v1/audit/records?action=iam:SignIn", testutil.ManagementToken, nil, &l)
		var denied, allowed bool
		for _, r := range l.Records {
			denied = denied || (r.Outcome == "denied" && r.Principal.Kind == "anonymous" && r.Principal.Name == "ivy" && r.ErrorCode == "unauthorized")
			allowed = allowed || (r.Outcome == "allowed" && r.Principal.Kind == "user" && r.Principal.Name == "ivy" && r.Resource == "srn:slipway:iam:user/ivy")
		}
		if !denied || !allowed {
			return fmt.Errorf("sign-in records %+v", l.Records)
		}
		return nil
	})
}
