package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// rawCall sends one JSON request and returns the status and the body.
func rawCall(t *testing.T, method, url, token string, body any) (int, string) {
	t.Helper()
	return rawCallTB(t, method, url, token, body)
}

func rawCallTB(t testing.TB, method, url, token string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// mustCall is rawCall that fails the test unless the status is want.
func mustCall(t *testing.T, want int, method, url, token string, body any) string {
	t.Helper()
	status, out := rawCall(t, method, url, token, body)
	if status != want {
		t.Fatalf("%s %s: status %d body %s; want %d", method, url, status, out, want)
	}
	return out
}

// userToken makes user NAME with one customer policy (document doc) attached and returns a
// personal access token of theirs.
func userToken(t *testing.T, c *testutil.Cluster, name, doc string) string {
	t.Helper()
	u := c.URL(0)
	mustCall(t, http.StatusCreated, "POST", u+"/v1/iam/users", testutil.ManagementToken, api.UserCreateRequest{Name: name})
	mustCall(t, http.StatusCreated, "POST", u+"/v1/iam/policies", testutil.ManagementToken, api.PolicyPutRequest{Name: name + "-policy", Document: doc})
	mustCall(t, http.StatusOK, "POST", u+"/v1/iam/policies/"+name+"-policy/attach", testutil.ManagementToken, api.PolicyAttachRequest{User: name})
	var tk api.Token
	if err := json.Unmarshal([]byte(mustCall(t, http.StatusCreated, "POST", u+"/v1/iam/users/"+name+"/tokens", testutil.ManagementToken, api.UserTokenCreateRequest{})), &tk); err != nil {
		t.Fatal(err)
	}
	return tk.SecretID
}

// TestPolicyOnAnApplicationCoversItsDeploymentsAndRevisions: deployments and revisions are
// named by their application (and group), though their paths hold only an ID, so a policy on
// app/shop reads shop's deployment and revision and nothing of web's; a deployment created from
// a body is authorized on the group the body names; an unknown ID tells a narrow caller nothing.
func TestPolicyOnAnApplicationCoversItsDeploymentsAndRevisions(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: fastAgents})
	testutil.StartAgent(t, c, "h1")
	c.WaitHost("h1")
	b := hookBundle(t, t.TempDir()+"/record", "", nil)
	cl, shop := deployRevision(t, c, "shop", b, "h1")
	waitDeployment(t, cl, shop.ID)
	_, web := deployRevision(t, c, "web", b, "h1")
	waitDeployment(t, cl, web.ID)

	tok := userToken(t, c, "ana", `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
	  "Action": ["codedeploy:Get*", "codedeploy:List*", "codedeploy:CreateDeployment"],
	  "Resource": ["srn:slipway:codedeploy:app/shop", "srn:slipway:codedeploy:app/shop/*"]}]}`)
	u := c.URL(0)
	mustCall(t, http.StatusOK, "GET", u+"/v1/deployments/"+shop.ID, tok, nil)
	mustCall(t, http.StatusOK, "GET", u+"/v1/deployments/"+shop.ID+"/logs", tok, nil)
	mustCall(t, http.StatusOK, "GET", u+"/v1/revisions/"+shop.Revision, tok, nil)
	mustCall(t, http.StatusOK, "GET", u+"/v1/deployments?app=shop", tok, nil)
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/v1/deployments/" + web.ID, "codedeploy:GetDeployment on srn:slipway:codedeploy:app/web"},
		{"GET", "/v1/revisions/" + web.Revision, "codedeploy:GetApplicationRevision on srn:slipway:codedeploy:app/web"},
		{"GET", "/v1/deployments?app=web", "codedeploy:ListDeployments on srn:slipway:codedeploy:app/web"},
		{"GET", "/v1/deployments", "codedeploy:ListDeployments on srn:slipway:codedeploy:deployment/*"},
		{"GET", "/v1/deployments/d-nonexistent", "codedeploy:GetDeployment on srn:slipway:codedeploy:deployment/d-nonexistent"},
		{"POST", "/v1/deployments/" + shop.ID + "/stop", "codedeploy:StopDeployment on srn:slipway:codedeploy:app/shop"},
	} {
		status, out := rawCall(t, tc.method, u+tc.path, tok, nil)
		if status != http.StatusForbidden || !strings.Contains(out, "not allowed: "+tc.want) {
			t.Errorf("%s %s: status %d body %s; want 403 %q", tc.method, tc.path, status, out, tc.want)
		}
	}
	// A deployment is created on the group (or application) its body names.
	status, out := rawCall(t, "POST", u+"/v1/deployments", tok, api.DeploymentCreateRequest{App: "web", Revision: web.Revision, Hosts: []string{"h1"}})
	if status != http.StatusForbidden || !strings.Contains(out, "codedeploy:CreateDeployment on srn:slipway:codedeploy:app/web") {
		t.Fatalf("create a deployment of web: status %d body %s; want 403", status, out)
	}
	var d api.Deployment
	if err := json.Unmarshal([]byte(mustCall(t, http.StatusCreated, "POST", u+"/v1/deployments", tok,
		api.DeploymentCreateRequest{App: "shop", Revision: shop.Revision, Hosts: []string{"h1"}})), &d); err != nil {
		t.Fatal(err)
	}
	if d.App != "shop" {
		t.Fatalf("created %+v", d)
	}
	waitDeployment(t, cl, d.ID)
	// The denials and the authorized write are in the audit trail under the user's name, with
	// the request ids the answers carried.
	testutil.Eventually(t, 10*time.Second, func() error {
		var l api.AuditRecordList
		if err := json.Unmarshal([]byte(mustCall(t, http.StatusOK, "GET", u+"/v1/audit/records?principal=ana&limit=1000", testutil.ManagementToken, nil)), &l); err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, rec := range l.Records {
			if rec.Principal.Name != "ana" || rec.Principal.Kind != "user" || rec.RequestID == "" {
				return fmt.Errorf("record %+v", rec)
			}
			seen[rec.Outcome+" "+rec.Action+" "+rec.Resource] = true
		}
		for _, want := range []string{
			"denied codedeploy:GetDeployment srn:slipway:codedeploy:app/web",
			"denied codedeploy:StopDeployment srn:slipway:codedeploy:app/shop",
			"denied codedeploy:CreateDeployment srn:slipway:codedeploy:app/web",
			"allowed codedeploy:CreateDeployment srn:slipway:codedeploy:app/shop",
		} {
			if !seen[want] {
				return fmt.Errorf("no record %q in %v", want, seen)
			}
		}
		return nil
	})
	// The handler still reads the whole body the resolver peeked at: a bad one is its 400.
	status, out = rawCall(t, "POST", u+"/v1/deployments", testutil.ManagementToken, map[string]any{"app": "shop", "bogus": 1})
	if status != http.StatusBadRequest || !strings.Contains(out, "bogus") {
		t.Fatalf("unknown field: status %d body %s; want 400 naming it", status, out)
	}
}
