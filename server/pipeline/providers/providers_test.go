package providers_test

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/build"
	"github.com/slipwayhq/slipway/server/core/config"
	"github.com/slipwayhq/slipway/server/deploy"
	"github.com/slipwayhq/slipway/server/pipeline"
)

// webBuildspec exports GROUP and CONTENT (the source's app/index.html) and writes
// app/extra.txt from the EXTRA variable the action's configuration sets; its artifact is the
// whole workspace.
const webBuildspec = `version: 0.2
env:
  exported-variables:
    - GROUP
    - CONTENT
phases:
  build:
    commands:
      - export GROUP=blue
      - export CONTENT="$(cat app/index.html)"
      - echo "$EXTRA" > app/extra.txt
artifacts:
  files:
    - '**/*'
`

// env is a one-node cluster with two agents taking builds and deployments ("builder" tagged
// role=builder, "runner" tagged role=runner), and the server's wired providers.
type env struct {
	c     *testutil.Cluster
	cl    *pub.Client
	provs pipeline.Providers
	mod   *pipeline.Module
}

func newEnv(t *testing.T) env {
	t.Helper()
	t.Setenv("SLIPWAY_AGENT_BUILDS", "true")
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: func(_ int, cfg *config.Config) {
		cfg.Agents.Heartbeat = 300 * time.Millisecond
		cfg.Agents.HostTimeout = 3 * time.Second
	}})
	c.WaitLeader()
	c.WaitToken()
	m, ok := c.Server(0).Service("pipeline").(*pipeline.Module)
	if !ok {
		t.Fatal("no pipeline service")
	}
	return env{c: c, cl: c.Client(0), provs: m.Providers, mod: m}
}

// run is an action run of pipeline web, execution e1, with key's last part attempt.
func run(provider, action string, cfg map[string]string, inputs []pub.PipelineArtifact, outputs ...string) pipeline.ActionRun {
	return pipeline.ActionRun{Pipeline: "web", Execution: "e1", Stage: action, Action: action, Attempt: 1,
		Key: "web/e1/" + action + "/" + action + "/1", Provider: provider, Configuration: cfg, Inputs: inputs, OutputNames: outputs,
		StartTime: time.Now()}
}

// await polls p until the run is done.
func await(t *testing.T, p pipeline.Provider, r pipeline.ActionRun, id string) pipeline.Result {
	t.Helper()
	var res pipeline.Result
	testutil.Eventually(t, 3*time.Minute, func() error {
		var err error
		if res, err = p.Poll(context.Background(), r, id); err != nil {
			return err
		}
		if !res.Done {
			return fmt.Errorf("%s is not done: %s", id, res.Summary)
		}
		return nil
	})
	return res
}

// untar reads a tar's regular files: path -> content.
func untar(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	files := map[string]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			files[h.Name] = string(b)
		}
	}
}

// TestSourceBuildDeployCommand runs the four providers on one chain, as a pipeline's driver
// would, with real git, real agents and real deployments:
//   - SlipwayRepo gives the tar of the commit the execution fixed (its files are the commit's,
//     read back through a revision made of the blob) and the commit's variables;
//   - SlipwayBuild builds that artifact, not the branch's newer head, with the configuration's
//     environment variables, and gives the build's zip and exported variables; a second Start
//     of the same run answers the same build and starts no other;
//   - SlipwayDeploy makes the zip a revision and deploys it to a group's host, whose files are
//     then the build's; a second Start answers the same deployment;
//   - Command runs on the agent its Labels match, from the build's zip (served to the agent as
//     a tar), and gives the variables it names.
func TestSourceBuildDeployCommand(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cl := e.cl
	dest := filepath.Join(t.TempDir(), "site")
	appspec := "version: 0.0\nos: linux\nfile_exists_behavior: OVERWRITE\nfiles:\n  - source: app\n    destination: " + dest + "\n"
	if _, err := cl.RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	head := ""
	put := func(path, content string) string {
		t.Helper()
		r, err := cl.RepoPutFile(ctx, "web", pub.FilePutRequest{Branch: "main", Path: path, Content: content, Parent: head, Message: "add " + path + "\n\nbody"})
		if err != nil {
			t.Fatal(err)
		}
		head = r.Commit
		return r.Commit
	}
	put("buildspec.yml", webBuildspec)
	put("appspec.yml", appspec)
	c1 := put("app/index.html", "v1")
	if _, err := cl.ProjectCreate(ctx, pub.ProjectCreateRequest{Name: "web-build", Source: pub.ProjectSource{Type: pub.SourceSlipwayRepo, Repository: "web"},
		Artifacts: pub.ProjectArtifacts{Type: pub.ArtifactsBlob}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.AppCreate(ctx, pub.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	testutil.StartAgent(t, e.c, "builder", "role=builder")
	testutil.StartAgent(t, e.c, "runner", "role=runner")
	e.c.WaitHost("builder")
	e.c.WaitHost("runner")
	if _, err := cl.GroupCreate(ctx, "web", pub.GroupRequest{Name: "prod", Hosts: []string{"builder"}}); err != nil {
		t.Fatal(err)
	}

	// Source.
	src := run(pipelinespec.ProviderRepo, "Source", map[string]string{"RepositoryName": "web", "BranchName": "main"}, nil, "SourceArtifact")
	src.Source = &pub.SourceRevision{Action: "Source", Repository: "web", Branch: "main", Commit: c1}
	res, err := e.provs[pipelinespec.ProviderRepo].Start(ctx, src)
	if err != nil || !res.Done || res.Status != pub.PipelineSucceeded || len(res.Outputs) != 1 {
		t.Fatalf("source: %+v, %v", res, err)
	}
	art := res.Outputs[0]
	if art.Name != "SourceArtifact" || art.Format != "tar" || art.Repository != "web" || art.Commit != c1 {
		t.Fatalf("source artifact %+v", art)
	}
	v := res.Variables
	if v["CommitId"] != c1 || v["BranchName"] != "main" || v["RepositoryName"] != "web" || v["CommitMessage"] != "add app/index.html\n\nbody" {
		t.Fatalf("source variables %q", v)
	}
	if _, err := time.Parse(time.RFC3339, v["AuthorDate"]); err != nil {
		t.Fatalf("AuthorDate %q: %v", v["AuthorDate"], err)
	}
	put("app/index.html", "v2") // the branch moves on; the execution's commit stays c1
	dm := e.c.Server(0).Service("deploy").(*deploy.Module)
	srev, _, err := dm.Revisions().CreateFromBlob(ctx, "web", art.SHA256, "the source tar")
	if err != nil {
		t.Fatal(err)
	}
	dl, err := cl.RevisionDownload(ctx, srev.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	files := untar(t, dl.Body)
	_ = dl.Body.Close()
	want := map[string]string{"buildspec.yml": webBuildspec, "appspec.yml": appspec, "app/index.html": "v1"}
	if fmt.Sprint(files) != fmt.Sprint(want) {
		t.Fatalf("the source tar holds %q, want %q", files, want)
	}

	// Build, started twice.
	bp := e.provs[pipelinespec.ProviderBuild]
	br := run(pipelinespec.ProviderBuild, "Build", map[string]string{"ProjectName": "web-build",
		"EnvironmentVariables": `[{"name":"EXTRA","value":"from-pipeline","type":"PLAINTEXT"}]`}, []pub.PipelineArtifact{art}, "BuildArtifact")
	first, err := bp.Start(ctx, br)
	if err != nil || first.Done || !strings.HasPrefix(first.ExternalID, "web-build:") || first.Summary != "build "+first.ExternalID {
		t.Fatalf("build start: %+v, %v", first, err)
	}
	second, err := bp.Start(ctx, br)
	if err != nil || second.ExternalID != first.ExternalID {
		t.Fatalf("a second start of the run: %+v, %v; want build %s", second, err, first.ExternalID)
	}
	if list, err := cl.BuildListForProject(ctx, "web-build", nil); err != nil || len(list.Builds) != 1 {
		t.Fatalf("the project's builds: %+v, %v", list, err)
	}
	res = await(t, bp, br, first.ExternalID)
	if res.Status != pub.PipelineSucceeded || len(res.Outputs) != 1 || res.Variables["GROUP"] != "blue" || res.Variables["CONTENT"] != "v1" {
		t.Fatalf("build: %+v", res)
	}
	zipArt := res.Outputs[0]
	if zipArt.Name != "BuildArtifact" || zipArt.Format != "zip" {
		t.Fatalf("build artifact %+v", zipArt)
	}
	bm := e.c.Server(0).Service("build").(*build.Module)
	if rec, err := bm.Builds().Record(first.ExternalID); err != nil || rec.ResolvedSourceVersion != c1 || rec.SourceArtifact == nil || rec.SourceArtifact.SHA256 != art.SHA256 {
		t.Fatalf("build record: %+v, %v", rec, err)
	}

	// Deploy, started twice.
	dp := e.provs[pipelinespec.ProviderDeploy]
	dr := run(pipelinespec.ProviderDeploy, "Deploy", map[string]string{"ApplicationName": "web", "DeploymentGroupName": "prod"}, []pub.PipelineArtifact{zipArt})
	first, err = dp.Start(ctx, dr)
	if err != nil || first.Done || !strings.HasPrefix(first.ExternalID, "d-") {
		t.Fatalf("deploy start: %+v, %v", first, err)
	}
	if second, err = dp.Start(ctx, dr); err != nil || second.ExternalID != first.ExternalID {
		t.Fatalf("a second start of the run: %+v, %v; want deployment %s", second, err, first.ExternalID)
	}
	if res = await(t, dp, dr, first.ExternalID); res.Status != pub.PipelineSucceeded {
		t.Fatalf("deploy: %+v", res)
	}
	for name, content := range map[string]string{"index.html": "v1", "extra.txt": "from-pipeline\n"} {
		if b, err := os.ReadFile(filepath.Join(dest, name)); err != nil || string(b) != content {
			t.Fatalf("the host's %s: %q, %v; want %q", name, b, err, content)
		}
	}

	// Command, on the runner, from the build's zip.
	cp := e.provs[pipelinespec.ProviderCommand]
	cr := run(pipelinespec.ProviderCommand, "Invoke", map[string]string{"Labels": "role=runner", "OutputVariables": "OUT, WHERE"}, []pub.PipelineArtifact{zipArt})
	cr.Commands = []string{`export OUT="$(cat app/extra.txt)"`, `export WHERE="it's \"quoted\""`}
	first, err = cp.Start(ctx, cr)
	if err != nil || first.Done || !strings.HasPrefix(first.ExternalID, "pipeline-commands:") {
		t.Fatalf("command start: %+v, %v", first, err)
	}
	res = await(t, cp, cr, first.ExternalID)
	if res.Status != pub.PipelineSucceeded || res.Variables["OUT"] != "from-pipeline" || res.Variables["WHERE"] != `it's "quoted"` {
		t.Fatalf("command: %+v", res)
	}
	rec, err := bm.Builds().Record(first.ExternalID)
	if err != nil {
		t.Fatal(err)
	}
	runner, err := cl.HostGet(ctx, "runner", nil)
	if err != nil || rec.Agent != runner.ID {
		t.Fatalf("the command ran on host %s, want runner (%+v, %v)", rec.Agent, runner, err)
	}
}
