package pipeline_test

import (
	"context"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/pipeline"
)

// checkingProvider is a fake provider that also names what its actions need of the author
// (codebuild:StartBuild on the action's project), as the build provider does.
type checkingProvider struct{ *fakeProvider }

func (checkingProvider) Needs(a pipelinespec.Action) []pipeline.Need {
	return []pipeline.Need{{Action: "codebuild:StartBuild", Resource: "project/" + a.Configuration["ProjectName"]}}
}

func (checkingProvider) Check(context.Context, pipelinespec.Action) error { return nil }

// TestCreateNeedsTheActionsPermissions: a user allowed every pipeline action but not
// codebuild:StartBuild cannot create a pipeline whose build action would start builds (403
// naming the action and resource); with CodeBuildFullAccess they can.
func TestCreateNeedsTheActionsPermissions(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	f := newFake()
	wire(c, f, fixed)
	c.Server(0).Service("pipeline").(*pipeline.Module).SetProvider("SlipwayBuild", checkingProvider{f})
	ctx, cl := context.Background(), c.Client(0)
	pw := "correct horse battery staple"
	if _, err := cl.UserCreate(ctx, pub.UserCreateRequest{Name: "pat", Password: pw}); err != nil {
		t.Fatal(err)
	}
	if err := cl.PolicyAttach(ctx, "CodePipelineFullAccess", pub.PolicyAttachRequest{User: "pat"}); err != nil {
		t.Fatal(err)
	}
	tk, err := cl.Login(ctx, pub.LoginRequest{User: "pat", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	pat := c.ClientWithToken(0, tk.SecretID)
	req := pub.PipelineRequest{Definition: definition("web", "web", "")}
	_, err = pat.PipelineCreate(ctx, req)
	if pub.ErrorCode(err) != pub.CodeForbidden || !strings.Contains(err.Error(), "codebuild:StartBuild") || !strings.Contains(err.Error(), "project/web-build") {
		t.Fatalf("create without codebuild:StartBuild: %v; want 403 naming it", err)
	}
	if err := cl.PolicyAttach(ctx, "CodeBuildFullAccess", pub.PolicyAttachRequest{User: "pat"}); err != nil {
		t.Fatal(err)
	}
	if p, err := pat.PipelineCreate(ctx, req); err != nil || p.CreatedBy != "pat" {
		t.Fatalf("create with codebuild:StartBuild: %+v, %v", p, err)
	}
}
