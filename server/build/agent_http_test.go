package build_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// TestAgentReadsSecretsUnderTheServiceRole: the build's agent reads its secrets (whole values and
// fields of a JSON secret) under the project's service role, which the role's policies bound:
// a secret it may not read is 403 naming it, and the reads are in the audit trail as the role's.
func TestAgentReadsSecretsUnderTheServiceRole(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	cl := c.Client(0)
	for name, v := range map[string]string{"web/npm-token": "npm_abcdef", "web/db": `{"password":"pw","port":5432}`, "shop/stripe-key": "sk_live_123"} {
		if _, err := cl.SecretPut(ctx, name, pub.SecretPutRequest{Value: []byte(v)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cl.PolicyCreate(ctx, pub.PolicyPutRequest{Name: "web-build", Document: `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
	  "Action": "secretsmanager:GetSecretValue", "Resource": "srn:slipway:secretsmanager:secret/web/*"}]}`}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.RoleCreate(ctx, pub.RoleCreateRequest{Name: "project-web", Trust: []string{"user/nobody"}, Policies: []string{"web-build"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.ProjectCreate(ctx, pub.ProjectCreateRequest{Name: "web", ServiceRole: "project-web",
		Source: pub.ProjectSource{Type: pub.SourceNone, BuildspecInline: buildspecYAML}}); err != nil {
		t.Fatal(err)
	}
	agent := startAgent(t, c, "builder", "linux")
	b, err := cl.BuildStart(ctx, pub.BuildStartRequest{Project: "web"})
	if err != nil {
		t.Fatal(err)
	}
	var run agentproto.BuildRun
	agent.next(agentproto.TypeRun, &run)
	if run.DeploymentID != b.ID || run.Source.Path != "" || run.Source.BuildspecInline != buildspecYAML {
		t.Fatalf("run %+v", run)
	}
	st, body := agent.do("POST", run.SecretsPath, "", strings.NewReader(`{"names":["web/npm-token","web/db:password","web/db:port"]}`))
	var reply agentproto.BuildSecretsReply
	if st != http.StatusOK || json.Unmarshal(body, &reply) != nil {
		t.Fatalf("secrets: %d %s", st, body)
	}
	if reply.Values["web/npm-token"] != "npm_abcdef" || reply.Values["web/db:password"] != "pw" || reply.Values["web/db:port"] != "5432" || len(reply.Values) != 3 {
		t.Fatalf("values %v", reply.Values)
	}
	st, body = agent.do("POST", run.SecretsPath, "", strings.NewReader(`{"names":["web/npm-token","shop/stripe-key"]}`))
	if st != http.StatusForbidden || !strings.Contains(string(body), "shop/stripe-key") || strings.Contains(string(body), "npm_abcdef") {
		t.Fatalf("a secret the role may not read: %d %s", st, body)
	}
	if st, body := agent.do("POST", run.SecretsPath, "", strings.NewReader(`{"names":["web/db:nope"]}`)); st != http.StatusNotFound {
		t.Fatalf("a missing JSON key: %d %s", st, body)
	}
	if st, body := agent.do("GET", AgentPathOf(b.ID, "source"), "", nil); st != http.StatusNotFound || !strings.Contains(string(body), "NO_SOURCE") {
		t.Fatalf("the source of a NO_SOURCE build: %d %s", st, body)
	}
	testutil.Eventually(t, 10*time.Second, func() error {
		l, err := cl.AuditList(ctx, pub.AuditFilter{Principal: "project-web"}, nil)
		if err != nil {
			return err
		}
		if len(l.Records) < 4 {
			return fmt.Errorf("the role's reads in the trail: %+v", l.Records)
		}
		return nil
	})
}

// AgentPathOf is build.AgentPath (kept here so the test reads as an agent would).
func AgentPathOf(id, what string) string { return "/v1/agent/builds/" + id + "/" + what }

// TestAgentRoutesBoundTheirInput: the agent routes refuse what is malformed or out of bounds
// before anything is read or stored, and answer only agents.
func TestAgentRoutesBoundTheirInput(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	cl := c.Client(0)
	if _, err := cl.ProjectCreate(ctx, pub.ProjectCreateRequest{Artifacts: pub.ProjectArtifacts{Type: pub.ArtifactsBlob}, Name: "web", Source: pub.ProjectSource{Type: pub.SourceNone, BuildspecInline: buildspecYAML}}); err != nil {
		t.Fatal(err)
	}
	agent := startAgent(t, c, "builder", "linux")
	b, err := cl.BuildStart(ctx, pub.BuildStartRequest{Project: "web"})
	if err != nil {
		t.Fatal(err)
	}
	var run agentproto.BuildRun
	agent.next(agentproto.TypeRun, &run)
	names := make([]string, 201)
	for i := range names {
		names[i] = fmt.Sprintf("web/s%d", i)
	}
	many, _ := json.Marshal(agentproto.BuildSecretsRequest{Names: names})
	for _, tc := range []struct {
		what, method, path, token, body string
		status                          int
	}{
		{"a user token", "GET", AgentPathOf(b.ID, "source"), testutil.ManagementToken, "", http.StatusUnauthorized},
		{"not a build ID", "POST", AgentPathOf("web:nope", "secrets"), "", `{"names":[]}`, http.StatusBadRequest},
		{"an unknown build", "POST", AgentPathOf("web:00000000-0000-4000-8000-000000000000", "secrets"), "", `{"names":[]}`, http.StatusNotFound},
		{"too many secret names", "POST", run.SecretsPath, "", string(many), http.StatusBadRequest},
		{"an unknown field", "POST", run.SecretsPath, "", `{"names":[],"values":{}}`, http.StatusBadRequest},
		{"a bad artifact name", "PUT", run.ArtifactsPath + "/..%2Fx", "", "PK", http.StatusBadRequest},
		{"an artifact name too long", "PUT", run.ArtifactsPath + "/" + strings.Repeat("a", 256), "", "PK", http.StatusBadRequest},
		{"a declared SHA that does not match", "PUT", run.ArtifactsPath + "/primary", "", string(zipOf(t, "a", "b")), http.StatusBadRequest},
	} {
		req, _ := http.NewRequest(tc.method, c.URL(0)+tc.path, strings.NewReader(tc.body))
		tok := tc.token
		if tok == "" {
			tok = agent.secret
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		if tc.what == "a declared SHA that does not match" {
			req.Header.Set(pub.HeaderSHA256, strings.Repeat("0", 64))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d", tc.what, resp.StatusCode, tc.status)
		}
	}
}
