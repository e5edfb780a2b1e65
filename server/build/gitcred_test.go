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

// gitRefs asks server base for repo's ref advertisement with token as git's basic password,
// answering the status.
func gitRefs(t *testing.T, base, repo, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/git/"+repo+".git/info/refs?service=git-upload-pack", nil)
	req.SetBasicAuth("build", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestAgentGetsAGitCredentialOfTheServiceRole: the build's agent gets a role session of the
// project's service role, named for the build, which reads the repositories the role may pull
// and no other; another host, a project without a service role and an ended build get none, and
// the build's end revokes the session.
func TestAgentGetsAGitCredentialOfTheServiceRole(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	cl := c.Client(0)
	repoWithBuildspec(t, cl, "libs")
	repoWithBuildspec(t, cl, "private")
	if _, err := cl.PolicyCreate(ctx, pub.PolicyPutRequest{Name: "pull-libs", Document: `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
	  "Action": "codecommit:GitPull", "Resource": "srn:slipway:codecommit:repo/libs"}]}`}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.RoleCreate(ctx, pub.RoleCreateRequest{Name: "web-build", Trust: []string{"user/nobody"}, Policies: []string{"pull-libs"}}); err != nil {
		t.Fatal(err)
	}
	spec := pub.ProjectSource{Type: pub.SourceNone, BuildspecInline: buildspecYAML}
	if _, err := cl.ProjectCreate(ctx, pub.ProjectCreateRequest{Name: "web", ServiceRole: "web-build", Source: spec}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.ProjectCreate(ctx, pub.ProjectCreateRequest{Name: "roleless", Source: spec}); err != nil {
		t.Fatal(err)
	}
	agent := startAgent(t, c, "builder", "linux")

	// A project without a service role: 403 saying to set one.
	b0, err := cl.BuildStart(ctx, pub.BuildStartRequest{Project: "roleless"})
	if err != nil {
		t.Fatal(err)
	}
	var run0 agentproto.BuildRun
	agent.next(agentproto.TypeRun, &run0)
	if run0.DeploymentID != b0.ID || run0.GitCredentialPath != AgentPathOf(b0.ID, "git-credential") {
		t.Fatalf("run %+v", run0)
	}
	if st, body := agent.do("POST", run0.GitCredentialPath, "", strings.NewReader("{}")); st != http.StatusForbidden || !strings.Contains(string(body), "no service role") || !strings.Contains(string(body), "service-role") {
		t.Fatalf("a git credential without a service role: %d %s", st, body)
	}
	endBuild(agent, b0.ID, 1)
	awaitBuild(t, cl, b0.ID, statusIs(pub.BuildSucceeded))

	b, err := cl.BuildStart(ctx, pub.BuildStartRequest{Project: "web"})
	if err != nil {
		t.Fatal(err)
	}
	var run agentproto.BuildRun
	agent.next(agentproto.TypeRun, &run)
	if run.DeploymentID != b.ID {
		t.Fatalf("run %+v", run)
	}
	st, body := agent.do("POST", run.GitCredentialPath, "", strings.NewReader("{}"))
	var cr agentproto.BuildGitCredential
	if st != http.StatusOK || json.Unmarshal(body, &cr) != nil || cr.Token == "" || cr.Role != "web-build" {
		t.Fatalf("git credential: %d %s", st, body)
	}
	// A role session, named for the build, expiring with the build's timeout (60 min and the
	// grace), within the role's max session (1 h by default).
	tk, err := cl.TokenGet(ctx, cr.Accessor, &pub.QueryOptions{Consistent: true})
	if err != nil {
		t.Fatal(err)
	}
	if tk.Type != pub.TokenTypeRole || tk.Role != "web-build" || tk.Source != "build/"+b.ID || tk.Name != "build "+b.ID || tk.ExpirationTime == nil ||
		tk.ExpirationTime.After(time.Now().Add(time.Hour+time.Minute)) || tk.ExpirationTime.Before(time.Now().Add(50*time.Minute)) {
		t.Fatalf("the build's role session: %+v", tk)
	}
	if st := gitRefs(t, c.URL(0), "libs", cr.Token); st != http.StatusOK {
		t.Fatalf("the role session reads libs: %d", st)
	}
	if st := gitRefs(t, c.URL(0), "private", cr.Token); st != http.StatusForbidden && st != http.StatusNotFound {
		t.Fatalf("the role session reads private: %d", st)
	}
	// A second ask (a retry) gets a second session, recorded too.
	st, body = agent.do("POST", run.GitCredentialPath, "", strings.NewReader("{}"))
	var cr2 agentproto.BuildGitCredential
	if st != http.StatusOK || json.Unmarshal(body, &cr2) != nil || cr2.Accessor == cr.Accessor {
		t.Fatalf("a second git credential: %d %s", st, body)
	}
	other := startAgent(t, c, "other", "windows")
	if st, body := other.do("POST", run.GitCredentialPath, "", strings.NewReader("{}")); st != http.StatusForbidden || !strings.Contains(string(body), "does not run on host other") {
		t.Fatalf("another host's git credential: %d %s", st, body)
	}
	if st, body := agent.do("POST", run.GitCredentialPath, cr.Token, strings.NewReader("{}")); st != http.StatusUnauthorized && st != http.StatusForbidden {
		t.Fatalf("the role session itself asks for a git credential: %d %s", st, body)
	}

	// The build's end revokes both sessions; an ended build gets none.
	endBuild(agent, b.ID, 1)
	awaitBuild(t, cl, b.ID, statusIs(pub.BuildSucceeded))
	testutil.Eventually(t, 20*time.Second, func() error {
		for _, a := range []string{cr.Accessor, cr2.Accessor} {
			if _, err := cl.TokenGet(ctx, a, &pub.QueryOptions{Consistent: true}); !pub.IsNotFound(err) {
				return fmt.Errorf("token %s after the build's end: %w", a, err)
			}
		}
		return nil
	})
	if st := gitRefs(t, c.URL(0), "libs", cr.Token); st != http.StatusUnauthorized {
		t.Fatalf("the revoked role session reads libs: %d", st)
	}
	if st, body := agent.do("POST", run.GitCredentialPath, "", strings.NewReader("{}")); st != http.StatusConflict {
		t.Fatalf("a git credential for an ended build: %d %s", st, body)
	}
}

// endBuild reports build id SUCCEEDED from agent (report sequence seq) and waits for the ack.
func endBuild(agent *fakeAgent, id string, seq uint64) {
	end := agentproto.Event{Kind: agentproto.KindBuild, DeploymentID: id, Seq: seq, Event: agentproto.BuildEnd, Status: agentproto.StatusSucceeded,
		Result: pub.BuildSucceeded, Time: time.Now(), Build: &agentproto.BuildOutcome{Status: pub.BuildSucceeded}}
	agent.send(agentproto.TypeEvent, end)
	agent.awaitAck(id, seq)
}

// TestGitCredentialFollowsTheRole: a build's session lasts at most its role's max session, and a
// role that requires MFA gives builds none (no build has MFA).
func TestGitCredentialFollowsTheRole(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	cl := c.Client(0)
	if _, err := cl.RoleCreate(ctx, pub.RoleCreateRequest{Name: "short", Trust: []string{"user/nobody"}, MaxSession: "15m"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.RoleCreate(ctx, pub.RoleCreateRequest{Name: "guarded", Trust: []string{"user/nobody"}, RequireMFA: true}); err != nil {
		t.Fatal(err)
	}
	spec := pub.ProjectSource{Type: pub.SourceNone, BuildspecInline: buildspecYAML}
	for _, p := range []pub.ProjectCreateRequest{{Name: "short", ServiceRole: "short", Source: spec}, {Name: "guarded", ServiceRole: "guarded", Source: spec}} {
		if _, err := cl.ProjectCreate(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	agent := startAgent(t, c, "builder", "linux")
	ask := func(project string) (string, int, []byte) {
		t.Helper()
		b, err := cl.BuildStart(ctx, pub.BuildStartRequest{Project: project})
		if err != nil {
			t.Fatal(err)
		}
		var run agentproto.BuildRun
		agent.next(agentproto.TypeRun, &run)
		if run.DeploymentID != b.ID {
			t.Fatalf("run %+v", run)
		}
		st, body := agent.do("POST", run.GitCredentialPath, "", strings.NewReader("{}"))
		return b.ID, st, body
	}
	id, st, body := ask("short")
	var cr agentproto.BuildGitCredential
	if st != http.StatusOK || json.Unmarshal(body, &cr) != nil {
		t.Fatalf("git credential: %d %s", st, body)
	}
	if left := time.Until(cr.Expiration); left > 15*time.Minute || left < 14*time.Minute {
		t.Fatalf("the session of a 15m role lasts %v", left)
	}
	endBuild(agent, id, 1)
	awaitBuild(t, cl, id, statusIs(pub.BuildSucceeded))
	id, st, body = ask("guarded")
	if st != http.StatusForbidden || !strings.Contains(string(body), "requires MFA") {
		t.Fatalf("a role requiring MFA: %d %s", st, body)
	}
	endBuild(agent, id, 1)
}
