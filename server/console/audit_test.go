package console_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
)

// TestAuditPage: an administrator reads the trail, newest first, with the anchor, the head and
// the verification of what is shown; the principal filter in the query keeps only that
// principal's records; a user without audit policies gets the edge's 403.
func TestAuditPage(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	base := c.URL(0)
	mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"ana","password":"`+password+`"}`)
	mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"bo","password":"`+password+`"}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/AdministratorAccess/attach", `{"user":"ana"}`)
	admin := newBrowser(t)
	admin.signIn(base, "ana")
	bo := newBrowser(t)
	bo.signIn(base, "bo")
	if resp, _ := bo.do("GET", base+"/ui/audit", nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("audit page for a user without audit policies: %d; want 403", resp.StatusCode)
	}

	// bo's sign-in and refused read are in the trail (written in batches: wait for them).
	var page string
	testutil.Eventually(t, 10*time.Second, func() error {
		var resp answer
		resp, page = admin.do("GET", base+"/ui/audit?principal=bo", nil)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("audit page: %d %s", resp.StatusCode, page)
		}
		if !strings.Contains(page, "audit:ListRecords") || !strings.Contains(page, "iam:SignIn") {
			return fmt.Errorf("bo's records are not shown yet")
		}
		return nil
	})
	if strings.Contains(page, "<td>ana <span") || !strings.Contains(page, `class="badge bad">denied`) || !strings.Contains(page, `value="bo"`) {
		t.Errorf("filtered by principal bo: %s", page)
	}
	if !strings.Contains(page, "verified") || !strings.Contains(page, "head <code>") {
		t.Errorf("no verification status: %s", page)
	}
	// Unfiltered: both principals, newest first, verified as a chain to the head.
	_, page = admin.do("GET", base+"/ui/audit", nil)
	if !strings.Contains(page, "<td>ana <span") || !strings.Contains(page, "<td>bo <span") || !strings.Contains(page, `badge ok">verified`) {
		t.Errorf("unfiltered trail: %s", page)
	}
	// Paging: below a sequence number, the older records only.
	_, page = admin.do("GET", base+"/ui/audit?before=3", nil)
	if !strings.Contains(page, "<tr><td>2</td>") || strings.Contains(page, "<tr><td>3</td>") {
		t.Errorf("the page below 3: %s", page)
	}
	// A time that is not one is said on the page.
	if resp, page := admin.do("GET", base+"/ui/audit?since=yesterday", nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "RFC 3339") {
		t.Errorf("a bad since: %d %s", resp.StatusCode, page)
	}
}
