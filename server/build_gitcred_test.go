package server_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
)

// gitCredentialSpec is a buildspec with git-credential-helper: yes that clones libs (which the
// service role may pull) and tries private (which it may not) from the server at %[1]s.
const gitCredentialSpec = `version: 0.2
env:
  git-credential-helper: yes
  variables:
    GIT_TERMINAL_PROMPT: "0"
phases:
  build:
    commands:
      - echo "token=$SLIPWAY_GIT_TOKEN"
      - git clone %[1]s/git/libs.git libs
      - test "$(cat libs/VERSION)" = 1.2.3
      - if git clone %[1]s/git/private.git private; then echo PRIVATE-CLONED; exit 1; fi; echo PRIVATE-REFUSED
`

// TestBuildGitCredentialHelper: a real agent runs a build of repository app whose buildspec has
// git-credential-helper: yes; its git clones repository libs over HTTP from the server with the
// build's role session (the service role may pull libs), while a clone of private, which the
// role may not read, fails; the token is masked in the log and revoked once the build ended. A
// build without the key gets no credential: its clone of libs fails.
func TestBuildGitCredentialHelper(t *testing.T) {
	t.Setenv("SLIPWAY_AGENT_BUILDS", "true")
	c := testutil.NewCluster(t, 1)
	c.WaitLeader()
	c.WaitToken()
	ctx := context.Background()
	cl := c.Client(0)
	put := func(repo, path, content string) {
		t.Helper()
		if _, err := cl.RepoCreate(ctx, api.RepositoryCreateRequest{Name: repo}); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.RepoPutFile(ctx, repo, api.FilePutRequest{Branch: "main", Path: path, Content: content, Message: "add " + path}); err != nil {
			t.Fatal(err)
		}
	}
	put("app", "buildspec.yml", fmt.Sprintf(gitCredentialSpec, c.URL(0)))
	put("libs", "VERSION", "1.2.3")
	put("private", "VERSION", "0.0.1")
	if _, err := cl.PolicyCreate(ctx, api.PolicyPutRequest{Name: "pull-libs", Document: `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
	  "Action": "codecommit:GitPull", "Resource": "srn:slipway:codecommit:repo/libs"}]}`}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.RoleCreate(ctx, api.RoleCreateRequest{Name: "app-build", Trust: []string{"user/nobody"}, Policies: []string{"pull-libs"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.ProjectCreate(ctx, api.ProjectCreateRequest{Name: "app", ServiceRole: "app-build",
		Source: api.ProjectSource{Type: api.SourceSlipwayRepo, Repository: "app"}}); err != nil {
		t.Fatal(err)
	}
	noKey := "version: 0.2\nenv:\n  variables:\n    GIT_TERMINAL_PROMPT: \"0\"\nphases:\n  build:\n    commands:\n      - git clone " + c.URL(0) + "/git/libs.git libs\n"
	if _, err := cl.ProjectCreate(ctx, api.ProjectCreateRequest{Name: "nokey", ServiceRole: "app-build",
		Source: api.ProjectSource{Type: api.SourceNone, BuildspecInline: noKey}}); err != nil {
		t.Fatal(err)
	}
	agent := testutil.StartAgent(t, c, "builder")
	c.WaitHost("builder")

	b, err := cl.BuildStart(ctx, api.BuildStartRequest{Project: "app"})
	if err != nil {
		t.Fatal(err)
	}
	got := waitBuildEnded(t, cl, b.ID)
	log := buildLog(t, cl, b.ID)
	if got.Status != api.BuildSucceeded {
		t.Fatalf("build ended %s: %+v\nlog:\n%s\nagent:\n%s", got.Status, got.Phases, log, agent.Output())
	}
	if !strings.Contains(log, "token=***") || !strings.Contains(log, "PRIVATE-REFUSED") || strings.Contains(log, auth.SecretPrefix) {
		t.Fatalf("the build's log:\n%s", log)
	}
	m := regexp.MustCompile(`as role app-build \(token ([0-9a-f-]{36}),`).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("the log names no role session:\n%s", log)
	}
	testutil.Eventually(t, 20*time.Second, func() error {
		if _, err := cl.TokenGet(ctx, m[1], &api.QueryOptions{Consistent: true}); !api.IsNotFound(err) {
			return fmt.Errorf("the build's role session %s after its end: %w", m[1], err)
		}
		return nil
	})

	b2, err := cl.BuildStart(ctx, api.BuildStartRequest{Project: "nokey"})
	if err != nil {
		t.Fatal(err)
	}
	if got := waitBuildEnded(t, cl, b2.ID); got.Status != api.BuildFailed {
		t.Fatalf("a build without git-credential-helper cloned libs: %s\n%s", got.Status, buildLog(t, cl, b2.ID))
	}
}

// waitBuildEnded waits for build id to end and answers it.
func waitBuildEnded(t *testing.T, cl *api.Client, id string) *api.Build {
	t.Helper()
	var b *api.Build
	testutil.Eventually(t, 2*time.Minute, func() error {
		var err error
		if b, err = cl.BuildGet(context.Background(), id, &api.QueryOptions{Consistent: true}); err != nil {
			return err
		}
		if b.Status == api.BuildQueued || b.Status == api.BuildInProgress {
			return fmt.Errorf("build %s is %s", id, b.Status)
		}
		return nil
	})
	return b
}

// buildLog is the text of build id's log, one line per line.
func buildLog(t *testing.T, cl *api.Client, id string) string {
	t.Helper()
	p, err := cl.BuildLogs(context.Background(), id, 0, api.MaxBuildLogLimit)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, l := range p.Lines {
		sb.WriteString(l.Text + "\n")
	}
	return sb.String()
}
