package providers_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/pipeline"
)

// TestFailuresAndStop: what can never work fails the run with the reason (a commit the
// repository does not have, a project that does not exist, an artifact that is not a
// deployable bundle, a Command without commands); a build that fails fails the action with its
// status and phase; a Command stopped while it runs ends its build STOPPED, and the action
// fails saying so.
func TestFailuresAndStop(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cl := e.cl
	if _, err := cl.RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "plain"}); err != nil {
		t.Fatal(err)
	}
	put, err := cl.RepoPutFile(ctx, "plain", pub.FilePutRequest{Branch: "main", Path: "README", Content: "no appspec here", Message: "readme"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.ProjectCreate(ctx, pub.ProjectCreateRequest{Name: "broken", Source: pub.ProjectSource{Type: pub.SourceNone,
		BuildspecInline: "version: 0.2\nphases:\n  build:\n    commands:\n      - echo bad\n      - exit 3\n"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.AppCreate(ctx, pub.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	testutil.StartAgent(t, e.c, "runner", "role=runner")
	e.c.WaitHost("runner")
	mustFail := func(res pipeline.Result, err error, want string) {
		t.Helper()
		if err != nil || !res.Done || res.Status != pub.PipelineFailed || !strings.Contains(res.Error, want) {
			t.Fatalf("got %+v, %v; want a failure saying %q", res, err, want)
		}
	}

	src := run(pipelinespec.ProviderRepo, "Source", map[string]string{"RepositoryName": "plain", "BranchName": "main"}, nil, "Src")
	src.Source = &pub.SourceRevision{Action: "Source", Repository: "plain", Branch: "main", Commit: strings.Repeat("ab", 20)}
	res, err := e.provs[pipelinespec.ProviderRepo].Start(ctx, src)
	mustFail(res, err, "is not in repository")
	src.Source.Commit = put.Commit
	res, err = e.provs[pipelinespec.ProviderRepo].Start(ctx, src)
	if err != nil || res.Status != pub.PipelineSucceeded {
		t.Fatalf("source: %+v, %v", res, err)
	}
	tarArt := res.Outputs[0]

	res, err = e.provs[pipelinespec.ProviderBuild].Start(ctx, run(pipelinespec.ProviderBuild, "Build", map[string]string{"ProjectName": "nope"}, nil))
	mustFail(res, err, "nope")
	res, err = e.provs[pipelinespec.ProviderDeploy].Start(ctx, run(pipelinespec.ProviderDeploy, "Deploy",
		map[string]string{"ApplicationName": "web", "DeploymentGroupName": "prod"}, []pub.PipelineArtifact{tarArt}))
	mustFail(res, err, "appspec")
	res, err = e.provs[pipelinespec.ProviderCommand].Start(ctx, run(pipelinespec.ProviderCommand, "Invoke", nil, nil))
	mustFail(res, err, "needs commands")

	bp := e.provs[pipelinespec.ProviderBuild]
	br := run(pipelinespec.ProviderBuild, "Broken", map[string]string{"ProjectName": "broken"}, nil)
	started, err := bp.Start(ctx, br)
	if err != nil || started.Done {
		t.Fatalf("build start: %+v, %v", started, err)
	}
	res = await(t, bp, br, started.ExternalID)
	if res.Status != pub.PipelineFailed || !strings.Contains(res.Error, "ended FAILED in BUILD") || res.ExternalID != started.ExternalID {
		t.Fatalf("a failed build: %+v", res)
	}

	cp := e.provs[pipelinespec.ProviderCommand]
	cr := run(pipelinespec.ProviderCommand, "Sleep", map[string]string{"Command": "sleep 120"}, nil)
	started, err = cp.Start(ctx, cr)
	if err != nil || started.Done {
		t.Fatalf("command start: %+v, %v", started, err)
	}
	testutil.Eventually(t, time.Minute, func() error {
		b, err := cl.BuildGet(ctx, started.ExternalID, &pub.QueryOptions{Consistent: true})
		if err != nil {
			return err
		}
		if b.Status != pub.BuildInProgress {
			return fmt.Errorf("build %s is %s", b.ID, b.Status)
		}
		return nil
	})
	if err := cp.Stop(ctx, cr, started.ExternalID); err != nil {
		t.Fatal(err)
	}
	res = await(t, cp, cr, started.ExternalID)
	if res.Status != pub.PipelineFailed || !strings.Contains(res.Error, "ended STOPPED") {
		t.Fatalf("a stopped command: %+v", res)
	}
	if err := cp.Stop(ctx, cr, started.ExternalID); err != nil {
		t.Fatalf("stopping an ended build: %v", err)
	}
}

// TestNeedsAndCheck: each provider names the permissions its action needs of the pipeline's
// author, with "*" for a part a variable gives, and checks its configuration against the
// cluster.
func TestNeedsAndCheck(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.cl.RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cl.ProjectCreate(ctx, pub.ProjectCreateRequest{Name: "web-build", Source: pub.ProjectSource{Type: pub.SourceSlipwayRepo, Repository: "web"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cl.AppCreate(ctx, pub.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cl.GroupCreate(ctx, "web", pub.GroupRequest{Name: "prod", Tags: map[string]string{"env": "prod"}}); err != nil {
		t.Fatal(err)
	}
	action := func(provider string, cfg map[string]string, commands ...string) pipelinespec.Action {
		return pipelinespec.Action{Name: "A", ActionTypeID: pipelinespec.ActionType{Provider: provider}, Configuration: cfg, Commands: commands}
	}
	checker := func(provider string) pipeline.Checker {
		c, ok := e.provs[provider].(pipeline.Checker)
		if !ok {
			t.Fatalf("provider %s is no Checker", provider)
		}
		return c
	}
	needs := []struct {
		provider string
		cfg      map[string]string
		want     []pipeline.Need
	}{
		{pipelinespec.ProviderRepo, map[string]string{"RepositoryName": "web"}, []pipeline.Need{{Action: "codecommit:GitPull", Resource: "repo/web"}}},
		{pipelinespec.ProviderBuild, map[string]string{"ProjectName": "#{variables.project}"}, []pipeline.Need{{Action: "codebuild:StartBuild", Resource: "project/*"}}},
		{pipelinespec.ProviderDeploy, map[string]string{"ApplicationName": "web", "DeploymentGroupName": "#{BuildVariables.GROUP}"}, []pipeline.Need{
			{Action: "codedeploy:RegisterApplicationRevision", Resource: "app/web"}, {Action: "codedeploy:CreateDeployment", Resource: "app/web/group/*"}}},
		{pipelinespec.ProviderCommand, nil, []pipeline.Need{{Action: "codebuild:StartBuild", Resource: "project/pipeline-commands"}}},
		{pipelinespec.ProviderCommand, map[string]string{"ProjectName": "web-build"}, []pipeline.Need{{Action: "codebuild:StartBuild", Resource: "project/web-build"}}},
	}
	for _, n := range needs {
		if got := checker(n.provider).Needs(action(n.provider, n.cfg)); !slices.Equal(got, n.want) {
			t.Errorf("%s %v needs %v, want %v", n.provider, n.cfg, got, n.want)
		}
	}
	checks := []struct {
		provider string
		cfg      map[string]string
		commands []string
		want     fault.Code // "": passes
	}{
		{pipelinespec.ProviderRepo, map[string]string{"RepositoryName": "web", "BranchName": "main"}, nil, ""},
		{pipelinespec.ProviderRepo, map[string]string{"RepositoryName": "nope", "BranchName": "main"}, nil, fault.NotFound},
		{pipelinespec.ProviderRepo, map[string]string{"RepositoryName": "web"}, nil, fault.Invalid},
		{pipelinespec.ProviderBuild, map[string]string{"ProjectName": "web-build"}, nil, ""},
		{pipelinespec.ProviderBuild, map[string]string{"ProjectName": "#{variables.p}"}, nil, ""},
		{pipelinespec.ProviderBuild, map[string]string{"ProjectName": "nope"}, nil, fault.NotFound},
		{pipelinespec.ProviderBuild, map[string]string{"ProjectName": "web-build", "EnvironmentVariables": "{"}, nil, fault.Invalid},
		{pipelinespec.ProviderDeploy, map[string]string{"ApplicationName": "web", "DeploymentGroupName": "prod"}, nil, ""},
		{pipelinespec.ProviderDeploy, map[string]string{"ApplicationName": "web", "DeploymentGroupName": "#{B.GROUP}"}, nil, ""},
		{pipelinespec.ProviderDeploy, map[string]string{"ApplicationName": "web", "DeploymentGroupName": "nope"}, nil, fault.NotFound},
		{pipelinespec.ProviderDeploy, map[string]string{"ApplicationName": "nope", "DeploymentGroupName": "prod"}, nil, fault.NotFound},
		{pipelinespec.ProviderCommand, map[string]string{"Labels": "os=linux, role=runner"}, []string{"make test"}, ""},
		{pipelinespec.ProviderCommand, map[string]string{"Command": "make test"}, nil, ""},
		{pipelinespec.ProviderCommand, nil, nil, fault.Invalid},
		{pipelinespec.ProviderCommand, map[string]string{"Labels": "os"}, []string{"true"}, fault.Invalid},
		{pipelinespec.ProviderCommand, map[string]string{"OutputVariables": "A,1B"}, []string{"true"}, fault.Invalid},
		{pipelinespec.ProviderCommand, map[string]string{"ProjectName": "nope"}, []string{"true"}, fault.NotFound},
	}
	for _, c := range checks {
		err := checker(c.provider).Check(ctx, action(c.provider, c.cfg, c.commands...))
		if (c.want == "" && err != nil) || (c.want != "" && fault.CodeOf(err) != c.want) {
			t.Errorf("%s %v %q: Check = %v, want %q", c.provider, c.cfg, c.commands, err, c.want)
		}
	}
}
