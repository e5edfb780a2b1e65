package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// TestBuildBatchCommands runs build start --batch and build batch get|list|stop against a real
// server whose project's buildspec, with its batch key, is a file of a real repository.
func TestBuildBatchCommands(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	cli := func(args ...string) result {
		return runWith(t, ctx, nil, append([]string{"--addr", c.URL(0), "--token", testutil.ManagementToken}, args...)...)
	}
	cl := c.Client(0)
	if _, err := cl.RepoCreate(ctx, api.RepositoryCreateRequest{Name: "shop"}); err != nil {
		t.Fatal(err)
	}
	parent := ""
	put := func(path, content string) {
		t.Helper()
		res, err := cl.RepoPutFile(ctx, "shop", api.FilePutRequest{Branch: "main", Path: path, Message: path, Content: content, Parent: parent})
		if err != nil {
			t.Fatal(err)
		}
		parent = res.Commit
	}
	put("buildspec.yml", `version: 0.2
batch:
  fast-fail: false
  build-graph:
    - identifier: lint
    - identifier: test
      buildspec: ci/test.yml
      env:
        variables:
          SUITE: unit
      depend-on: [lint]
phases:
  build:
    commands: [make]
`)
	put("plain.yml", "version: 0.2\nphases:\n  build:\n    commands: [make]\n")
	put("broken.yml", "version: 0.2\nbatch:\n  build-graph:\n    - identifier: a\n      depend-on: [zz]\nphases:\n  build:\n    commands: [make]\n")
	for _, p := range []api.ProjectCreateRequest{
		{Name: "web", Source: api.ProjectSource{Repository: "shop"}, SourceVersion: "main"},
		{Name: "plain", Source: api.ProjectSource{Repository: "shop", Buildspec: "plain.yml"}},
		{Name: "broken", Source: api.ProjectSource{Repository: "shop", Buildspec: "broken.yml"}},
		{Name: "missing", Source: api.ProjectSource{Repository: "shop", Buildspec: "none.yml"}},
	} {
		if _, err := cl.ProjectCreate(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"build", "start", "plain", "--batch"}, 1, "has no batch key"},
		{[]string{"build", "start", "broken", "--batch"}, 1, "broken.yml:5:"},
		{[]string{"build", "start", "missing", "--batch"}, 1, "none.yml"},
		{[]string{"build", "start", "web", "--batch", "--timeout", "10m"}, 2, "do not apply to --batch"},
	} {
		if r := cli(tc.args...); r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("%v: %+v; want exit %d saying %q", tc.args, r, tc.code, tc.msg)
		}
	}

	r := cli("build", "start", "web", "--batch", "--env", "STAGE=ci", "--output", "json")
	var bt api.BuildBatch
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &bt) != nil || bt.Status != api.BuildInProgress || len(bt.Builds) != 2 ||
		bt.Builds[1].Identifier != "test" || strings.Join(bt.Builds[1].DependsOn, ",") != "lint" || len(bt.ResolvedSourceVersion) != 40 {
		t.Fatalf("start --batch: %+v (%+v)", r, bt)
	}
	test, err := cl.BuildGet(ctx, bt.Builds[1].BuildID, nil)
	if err != nil || test.Source.Buildspec != "ci/test.yml" || test.BatchIdentifier != "test" || test.BuildBatchID != bt.ID ||
		test.Status != api.BuildQueued || test.Phases[1].Message != "waiting for lint" || variablesText(test.Environment.Variables) != "STAGE=ci SUITE=unit" {
		t.Fatalf("the waiting child: %v %+v", err, test)
	}
	if r := cli("build", "get", test.ID); r.code != 0 || !strings.Contains(r.stdout, bt.ID+" (test)") {
		t.Fatalf("build get of a child: %+v", r)
	}
	for project, n := range map[string]int{"plain": 0, "web": 1} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.URL(0)+"/v1/build-batches?project="+project, nil)
		req.Header.Set("Authorization", "Bearer "+testutil.ManagementToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var l api.BuildBatchList
		err = json.NewDecoder(resp.Body).Decode(&l)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || len(l.Batches) != n {
			t.Fatalf("?project=%s: %d %v %+v", project, resp.StatusCode, err, l)
		}
	}
	if r := cli("build", "batch", "get", bt.ID); r.code != 0 || !strings.Contains(r.stdout, "build-graph") || !strings.Contains(r.stdout, bt.Builds[0].BuildID) {
		t.Fatalf("batch get: %+v", r)
	}
	for _, args := range [][]string{{"build", "batch", "list"}, {"build", "batch", "list", "--project", "web"}} {
		if r := cli(args...); r.code != 0 || !strings.Contains(r.stdout, bt.ID) || !strings.Contains(r.stdout, "IN_PROGRESS") {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	if r := cli("build", "batch", "list", "--project", "plain"); r.code != 0 || strings.Contains(r.stdout, bt.ID) {
		t.Fatalf("another project's batches: %+v", r)
	}
	if r := cli("build", "batch", "stop", bt.ID); r.code != 0 || !strings.Contains(r.stdout, "STOPPED") {
		t.Fatalf("batch stop: %+v", r)
	}
	got, err := cl.BuildBatchGet(ctx, bt.ID, nil)
	if err != nil || got.Status != api.BuildStopped || got.Builds[0].Status != api.BuildStopped || got.Builds[1].Status != api.BuildStopped {
		t.Fatalf("after the stop: %v %+v", err, got)
	}
	if r := cli("build", "batch", "get", "web:00000000-0000-4000-8000-000000000000"); r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("an unknown batch: %+v", r)
	}
	// --watch prints the builds' statuses until the batch ends, and exits 1 unless it SUCCEEDED.
	done := make(chan result, 1)
	go func() { done <- cli("build", "start", "web", "--batch", "--watch") }()
	var watched string
	err = testutil.Poll(30*time.Second, 10*time.Millisecond, func() error {
		l, err := cl.BuildBatchListForProject(ctx, "web", nil)
		if err != nil || len(l.Batches) < 2 {
			return fmt.Errorf("no second batch yet: %w", err)
		}
		watched = l.Batches[0].ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.BuildBatchStop(ctx, watched); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.code != 1 || !strings.Contains(r.stdout, "Build batch "+watched+" STOPPED") || !strings.Contains(r.stdout, "lint") ||
			!strings.Contains(r.stderr, "slipway build batch get "+watched) {
			t.Fatalf("start --batch --watch: %+v", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the watch did not end with its batch")
	}
	if err := cl.ProjectDelete(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if l, err := cl.BuildBatchList(ctx, nil); err != nil || len(l.Batches) != 0 {
		t.Fatalf("batches after the project's delete: %v %+v", err, l)
	}
}
