package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// TestBatchBuildGraphRuns: on a one-server cluster with a real building agent, a batch of an
// inline buildspec's build-graph runs to SUCCEEDED, each child after its dependencies ended
// (c depends on b, which depends on a), each knowing its identifier
// (CODEBUILD_BATCH_BUILD_IDENTIFIER). A buildspec without a batch key is refused.
func TestBatchBuildGraphRuns(t *testing.T) {
	t.Setenv("SLIPWAY_AGENT_BUILDS", "true")
	c := testutil.NewCluster(t, 1)
	c.WaitLeader()
	c.WaitToken()
	a := testutil.StartAgent(t, c, "builder")
	a.Kill()
	a.SetArgs(append(a.Args(), "--builds"))
	a.Start()
	c.WaitHost("builder")
	cl := c.Client(0)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const spec = `version: 0.2
env:
  exported-variables: [WHO]
batch:
  build-graph:
    - identifier: a
    - identifier: b
      depend-on: [a]
    - identifier: c
      depend-on: [a, b]
phases:
  build:
    commands:
      - export WHO=$CODEBUILD_BATCH_BUILD_IDENTIFIER
`
	if _, err := cl.ProjectCreate(ctx, api.ProjectCreateRequest{Name: "graph", Source: api.ProjectSource{Type: api.SourceNone, BuildspecInline: spec}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.ProjectCreate(ctx, api.ProjectCreateRequest{Name: "single", Source: api.ProjectSource{Type: api.SourceNone, BuildspecInline: "version: 0.2\nphases:\n  build:\n    commands: [true]\n"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.BuildBatchStart(ctx, api.BuildBatchStartRequest{Project: "single"}); err == nil || !strings.Contains(err.Error(), "has no batch key") {
		t.Fatalf("a buildspec without batch: %v", err)
	}
	bt, err := cl.BuildBatchStart(ctx, api.BuildBatchStartRequest{Project: "graph"})
	if err != nil {
		t.Fatal(err)
	}
	if bt.Status != api.BuildInProgress || len(bt.Builds) != 3 || bt.Kind != "build-graph" {
		t.Fatalf("started: %+v", bt)
	}
	err = testutil.Poll(2*time.Minute, 20*time.Millisecond, func() error {
		if bt, err = cl.BuildBatchGet(ctx, bt.ID, nil); err != nil {
			return err
		}
		if bt.Status == api.BuildInProgress {
			return fmt.Errorf("batch %s is %s", bt.ID, bt.Status)
		}
		return nil
	})
	if err != nil || bt.Status != api.BuildSucceeded {
		t.Fatalf("batch: %v %+v\nagent:\n%s", err, bt, a.Output())
	}
	var prevEnd *time.Time
	for _, g := range bt.Builds {
		b, err := cl.BuildGet(ctx, g.BuildID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if b.Status != api.BuildSucceeded || g.Status != api.BuildSucceeded || b.BuildBatchID != bt.ID || b.BatchIdentifier != g.Identifier ||
			b.ExportedVariables["WHO"] != g.Identifier {
			t.Fatalf("build %s: %+v", g.Identifier, b)
		}
		var provisioned time.Time
		for _, p := range b.Phases {
			if p.Name == "PROVISIONING" {
				provisioned = p.StartTime
			}
		}
		if prevEnd != nil && provisioned.Before(*prevEnd) {
			t.Fatalf("build %s was assigned at %s, before its dependency ended at %s", g.Identifier, provisioned, prevEnd)
		}
		prevEnd = b.EndTime
	}
	l, err := cl.BuildBatchListForProject(ctx, "graph", nil)
	if err != nil || len(l.Batches) != 1 || l.Batches[0].ID != bt.ID {
		t.Fatalf("list: %v %+v", err, l)
	}
}

// TestBatchesAuthorizedByProject: a user allowed the batch actions on project/a-* only starts,
// reads and stops those batches, and is refused the others'; a batch's resource is its
// project's, which its ID names.
func TestBatchesAuthorizedByProject(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	admin := c.Client(0)
	const spec = "version: 0.2\nbatch:\n  build-list:\n    - identifier: one\nphases:\n  build:\n    commands: [true]\n"
	var ids []string
	for _, name := range []string{"a-web", "b-web"} {
		if _, err := admin.ProjectCreate(ctx, api.ProjectCreateRequest{Name: name, Source: api.ProjectSource{Type: api.SourceNone, BuildspecInline: spec}}); err != nil {
			t.Fatal(err)
		}
		bt, err := admin.BuildBatchStart(ctx, api.BuildBatchStartRequest{Project: name})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, bt.ID)
	}
	if _, err := admin.UserCreate(ctx, api.UserCreateRequest{Name: "ana"}); err != nil {
		t.Fatal(err)
	}
	doc := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["codebuild:StartBuildBatch", "codebuild:BatchGetBuildBatches", "codebuild:ListBuildBatchesForProject", "codebuild:StopBuildBatch"], "Resource": "srn:slipway:codebuild:project/a-*"}]}`
	if _, err := admin.PolicyCreate(ctx, api.PolicyPutRequest{Name: "a-batches", Document: doc}); err != nil {
		t.Fatal(err)
	}
	if err := admin.PolicyAttach(ctx, "a-batches", api.PolicyAttachRequest{User: "ana"}); err != nil {
		t.Fatal(err)
	}
	tk, err := admin.UserTokenCreate(ctx, "ana", api.UserTokenCreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ana := c.ClientWithToken(0, tk.SecretID)
	if _, err := ana.BuildBatchStart(ctx, api.BuildBatchStartRequest{Project: "a-web"}); err != nil {
		t.Fatalf("a-web's batch start: %v", err)
	}
	if bt, err := ana.BuildBatchGet(ctx, ids[0], nil); err != nil || bt.Project != "a-web" {
		t.Fatalf("a-web's batch: %+v, %v", bt, err)
	}
	if l, err := ana.BuildBatchListForProject(ctx, "a-web", nil); err != nil || len(l.Batches) != 2 {
		t.Fatalf("a-web's batches: %+v, %v", l, err)
	}
	if bt, err := ana.BuildBatchStop(ctx, ids[0]); err != nil || bt.Status != api.BuildStopped {
		t.Fatalf("a-web's batch stop: %+v, %v", bt, err)
	}
	for what, call := range map[string]func() error{
		"start b-web": func() error {
			_, err := ana.BuildBatchStart(ctx, api.BuildBatchStartRequest{Project: "b-web"})
			return err
		},
		"get b-web":  func() error { _, err := ana.BuildBatchGet(ctx, ids[1], nil); return err },
		"list b-web": func() error { _, err := ana.BuildBatchListForProject(ctx, "b-web", nil); return err },
		"stop b-web": func() error { _, err := ana.BuildBatchStop(ctx, ids[1]); return err },
		"list all":   func() error { _, err := ana.BuildBatchList(ctx, nil); return err },
	} {
		if err := call(); err == nil || !strings.Contains(err.Error(), "not allowed") {
			t.Errorf("%s: %v; want not allowed", what, err)
		}
	}
	if bt, err := admin.BuildBatchGet(ctx, ids[1], nil); err != nil || bt.Status != api.BuildInProgress {
		t.Fatalf("b-web's batch after the refused stop: %+v, %v", bt, err)
	}
}
