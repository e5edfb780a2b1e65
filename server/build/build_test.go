package build_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

const buildspecYAML = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hello\n"

// repoWithBuildspec makes repository name with buildspec.yml committed on main and answers the
// commit.
func repoWithBuildspec(t *testing.T, cl *pub.Client, name string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := cl.RepoCreate(ctx, pub.RepositoryCreateRequest{Name: name}); err != nil {
		t.Fatal(err)
	}
	res, err := cl.RepoPutFile(ctx, name, pub.FilePutRequest{Branch: "main", Path: "buildspec.yml", Content: buildspecYAML, Message: "buildspec"})
	if err != nil {
		t.Fatal(err)
	}
	return res.Commit
}

// TestProjectsAndBuildsOverHTTP drives the service through pkg/api against a real one-node
// server with a real repository: a project on it, builds that resolve the branch head (or the
// commit asked for), lists newest first, a stop, and the refusals.
func TestProjectsAndBuildsOverHTTP(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	cl := c.Client(0)
	head := repoWithBuildspec(t, cl, "shop")

	p, err := cl.ProjectCreate(ctx, pub.ProjectCreateRequest{Name: "shop-web", Description: "the shop",
		Source: pub.ProjectSource{Type: pub.SourceSlipwayRepo, Repository: "shop"}, SourceVersion: "main",
		Environment: pub.BuildEnvironment{Labels: map[string]string{"os": "linux"}, Variables: []pub.EnvironmentVariable{
			{Name: "STAGE", Value: "test"}, {Name: "DB_PASSWORD", Value: "prod/db/password", Type: pub.VariableSecretsManager}}}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "shop-web" || p.TimeoutMinutes != 60 || p.QueuedTimeoutMinutes != 480 || p.Artifacts.Type != pub.ArtifactsNone ||
		p.Environment.Variables[0].Type != pub.VariablePlaintext || p.CreatedBy == "" || p.CreateIndex == 0 {
		t.Fatalf("created %+v", p)
	}
	if got, err := cl.ProjectGet(ctx, "shop-web", nil); err != nil || got.Description != "the shop" || got.ModifyIndex != p.ModifyIndex {
		t.Fatalf("get: %+v, %v", got, err)
	}
	if _, err := cl.ProjectCreate(ctx, pub.ProjectCreateRequest{Name: "shop-web", Source: pub.ProjectSource{Repository: "shop"}}); !pub.IsConflict(err) {
		t.Fatalf("a name in use: %v", err)
	}
	if _, err := cl.ProjectCreate(ctx, pub.ProjectCreateRequest{Name: "nowhere", Source: pub.ProjectSource{Repository: "nope"}}); !pub.IsNotFound(err) {
		t.Fatalf("a project on a missing repository: %v", err)
	}
	_, err = cl.ProjectCreate(ctx, pub.ProjectCreateRequest{Name: "inline", Source: pub.ProjectSource{Type: pub.SourceNone,
		BuildspecInline: "version: 0.2\nphases:\n  build:\n    comands:\n      - make\n"}})
	if pub.ErrorCode(err) != pub.CodeBadRequest || !strings.Contains(err.Error(), "buildspec (inline):3:3: phase build needs commands") {
		t.Fatalf("an inline buildspec with an error: %v", err)
	}
	if _, err := cl.ProjectCreate(ctx, pub.ProjectCreateRequest{Name: "roled", Source: pub.ProjectSource{Repository: "shop"}, ServiceRole: "no-such-role"}); !pub.IsNotFound(err) || !strings.Contains(err.Error(), "no-such-role") {
		t.Fatalf("a project with a missing role: %v", err)
	}
	inline, err := cl.ProjectCreate(ctx, pub.ProjectCreateRequest{Name: "inline", Source: pub.ProjectSource{Type: pub.SourceNone, BuildspecInline: buildspecYAML}})
	if err != nil || inline.Source.BuildspecInline != buildspecYAML {
		t.Fatalf("an inline buildspec: %+v, %v", inline, err)
	}

	// A partial update: what is not given stays.
	limit := 2
	up, err := cl.ProjectUpdate(ctx, "shop-web", pub.ProjectUpdateRequest{ConcurrentBuildLimit: &limit})
	if err != nil || up.ConcurrentBuildLimit != 2 || up.Description != "the shop" || len(up.Environment.Variables) != 2 || up.ModifyIndex <= p.ModifyIndex {
		t.Fatalf("update: %+v, %v", up, err)
	}

	// Builds: the branch head, then a commit asked for.
	b1, err := cl.BuildStart(ctx, pub.BuildStartRequest{Project: "shop-web", EnvironmentVariablesOverride: []pub.EnvironmentVariable{{Name: "STAGE", Value: "ci"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b1.ID, "shop-web:") || len(b1.ID) != len("shop-web:")+36 || b1.BuildNumber != 1 || b1.Status != pub.BuildQueued ||
		b1.ResolvedSourceVersion != head || b1.CurrentPhase != "QUEUED" || len(b1.Phases) != 2 || b1.Initiator == "" ||
		b1.Environment.Variables[0] != (pub.EnvironmentVariable{Name: "STAGE", Value: "ci", Type: pub.VariablePlaintext}) ||
		b1.Environment.Variables[1].Value != "prod/db/password" || b1.TimeoutMinutes != 60 {
		t.Fatalf("started %+v", b1)
	}
	moved, err := cl.RepoPutFile(ctx, "shop", pub.FilePutRequest{Branch: "main", Path: "README", Content: "hi", Parent: head, Message: "readme"})
	if err != nil {
		t.Fatal(err)
	}
	b2, err := cl.BuildStart(ctx, pub.BuildStartRequest{Project: "shop-web", TimeoutMinutesOverride: 10})
	if err != nil || b2.BuildNumber != 2 || b2.ResolvedSourceVersion != moved.Commit || b2.TimeoutMinutes != 10 {
		t.Fatalf("the second build follows the branch: %+v, %v", b2, err)
	}
	b3, err := cl.BuildStart(ctx, pub.BuildStartRequest{Project: "shop-web", SourceVersion: head})
	if err != nil || b3.BuildNumber != 3 || b3.ResolvedSourceVersion != head || b3.SourceVersion != head {
		t.Fatalf("a build of a commit: %+v, %v", b3, err)
	}
	if _, err := cl.BuildStart(ctx, pub.BuildStartRequest{Project: "shop-web", SourceVersion: "no-such-branch"}); !pub.IsNotFound(err) {
		t.Fatalf("a build of a missing branch: %v", err)
	}
	if _, err := cl.BuildStart(ctx, pub.BuildStartRequest{Project: "shop-web", SourceVersion: strings.Repeat("ab", 20)}); err == nil {
		t.Fatal("a build of a commit that does not exist started")
	}
	if _, err := cl.BuildStart(ctx, pub.BuildStartRequest{Project: "shop-web", TimeoutMinutesOverride: 3000}); pub.ErrorCode(err) != pub.CodeBadRequest {
		t.Fatalf("a timeout override over 2160: %v", err)
	}
	if _, err := cl.BuildStart(ctx, pub.BuildStartRequest{Project: "nope"}); !pub.IsNotFound(err) {
		t.Fatalf("a build of a missing project: %v", err)
	}
	bi, err := cl.BuildStart(ctx, pub.BuildStartRequest{Project: "inline"})
	if err != nil || bi.ResolvedSourceVersion != "" || bi.Source.BuildspecInline != buildspecYAML {
		t.Fatalf("a build without source: %+v, %v", bi, err)
	}

	// Lists: newest first, a page at a time.
	l, err := cl.BuildListForProject(ctx, "shop-web", &pub.QueryOptions{Limit: 2})
	if err != nil || len(l.Builds) != 2 || l.Builds[0].ID != b3.ID || l.Builds[1].ID != b2.ID || l.Next == "" {
		t.Fatalf("first page: %+v, %v", l, err)
	}
	l, err = cl.BuildListForProject(ctx, "shop-web", &pub.QueryOptions{Limit: 2, Next: l.Next})
	if err != nil || len(l.Builds) != 1 || l.Builds[0].ID != b1.ID || l.Next != "" {
		t.Fatalf("second page: %+v, %v", l, err)
	}
	all, err := cl.BuildList(ctx, nil)
	if err != nil || len(all.Builds) != 4 || all.Builds[0].ID != bi.ID || all.Builds[3].ID != b1.ID {
		t.Fatalf("all builds: %+v, %v", all, err)
	}
	if _, err := cl.BuildListForProject(ctx, "nope", nil); !pub.IsNotFound(err) {
		t.Fatalf("builds of a missing project: %v", err)
	}
	projects, err := cl.ProjectList(ctx, nil)
	if err != nil || len(projects.Projects) != 2 || projects.Projects[0].Name != "inline" {
		t.Fatalf("projects: %+v, %v", projects, err)
	}

	// The JSON has status, phases, artifacts and exported_variables, even empty.
	got, err := cl.BuildGet(ctx, b1.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(got)
	for _, f := range []string{`"status":"QUEUED"`, `"phases":[{`, `"artifacts":[]`, `"exported_variables":{}`} {
		if !strings.Contains(string(raw), f) {
			t.Errorf("build JSON lacks %s: %s", f, raw)
		}
	}

	// Stop: a queued build is STOPPED at once; the project is not deleted while others queue.
	st, err := cl.BuildStop(ctx, b1.ID)
	if err != nil || st.Status != pub.BuildStopped || st.EndTime == nil || st.CurrentPhase != "COMPLETED" || st.Phases[1].Status != pub.BuildStopped {
		t.Fatalf("stop: %+v, %v", st, err)
	}
	if got, err := cl.BuildGet(ctx, b1.ID, nil); err != nil || got.Status != pub.BuildStopped {
		t.Fatalf("after the stop: %+v, %v", got, err)
	}
	if _, err := cl.BuildGet(ctx, "shop-web:00000000-0000-4000-8000-000000000000", nil); !pub.IsNotFound(err) {
		t.Fatalf("a missing build: %v", err)
	}
	if _, err := cl.BuildGet(ctx, "shop-web", nil); pub.ErrorCode(err) != pub.CodeBadRequest {
		t.Fatalf("a malformed build ID: %v", err)
	}
	if err := cl.ProjectDelete(ctx, "shop-web"); !pub.IsConflict(err) || !strings.Contains(err.Error(), "2 builds queued") {
		t.Fatalf("delete with builds queued: %v", err)
	}
	for _, id := range []string{b2.ID, b3.ID} {
		if _, err := cl.BuildStop(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.ProjectDelete(ctx, "shop-web"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.BuildGet(ctx, b2.ID, nil); !pub.IsNotFound(err) {
		t.Fatalf("a deleted project's build: %v", err)
	}
}

// TestBuildsAuthorizedByProject: a user allowed to read builds of project/a-* only reads those,
// is refused the others and every write; a build's resource is its project's.
func TestBuildsAuthorizedByProject(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	admin := c.Client(0)
	repoWithBuildspec(t, admin, "shop")
	var ids []string
	for _, name := range []string{"a-web", "b-web"} {
		if _, err := admin.ProjectCreate(ctx, pub.ProjectCreateRequest{Name: name, Source: pub.ProjectSource{Repository: "shop"}}); err != nil {
			t.Fatal(err)
		}
		b, err := admin.BuildStart(ctx, pub.BuildStartRequest{Project: name})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, b.ID)
	}
	if _, err := admin.UserCreate(ctx, pub.UserCreateRequest{Name: "ana"}); err != nil {
		t.Fatal(err)
	}
	doc := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["codebuild:BatchGetBuilds", "codebuild:ListBuildsForProject", "codebuild:BatchGetProjects"], "Resource": "srn:slipway:codebuild:project/a-*"}]}`
	if _, err := admin.PolicyCreate(ctx, pub.PolicyPutRequest{Name: "a-builds", Document: doc}); err != nil {
		t.Fatal(err)
	}
	if err := admin.PolicyAttach(ctx, "a-builds", pub.PolicyAttachRequest{User: "ana"}); err != nil {
		t.Fatal(err)
	}
	tk, err := admin.UserTokenCreate(ctx, "ana", pub.UserTokenCreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ana := c.ClientWithToken(0, tk.SecretID)
	if b, err := ana.BuildGet(ctx, ids[0], nil); err != nil || b.Project != "a-web" {
		t.Fatalf("a-web's build: %+v, %v", b, err)
	}
	if _, err := ana.BuildListForProject(ctx, "a-web", nil); err != nil {
		t.Fatalf("a-web's builds: %v", err)
	}
	if _, err := ana.ProjectGet(ctx, "a-web", nil); err != nil {
		t.Fatalf("a-web: %v", err)
	}
	if _, err := ana.BuildLogs(ctx, ids[0], 0, 10); err != nil {
		t.Fatalf("a-web's build's log: %v", err)
	}
	if _, err := ana.BuildReports(ctx, ids[0]); err != nil {
		t.Fatalf("a-web's build's reports: %v", err)
	}
	for what, err := range map[string]error{
		"b-web's build":     func() error { _, err := ana.BuildGet(ctx, ids[1], nil); return err }(),
		"b-web's builds":    func() error { _, err := ana.BuildListForProject(ctx, "b-web", nil); return err }(),
		"every build":       func() error { _, err := ana.BuildList(ctx, nil); return err }(),
		"stop a-web's":      func() error { _, err := ana.BuildStop(ctx, ids[0]); return err }(),
		"start a-web":       func() error { _, err := ana.BuildStart(ctx, pub.BuildStartRequest{Project: "a-web"}); return err }(),
		"create a-x":        func() error { _, err := ana.ProjectCreate(ctx, pub.ProjectCreateRequest{Name: "a-x"}); return err }(),
		"delete a-web":      ana.ProjectDelete(ctx, "a-web"),
		"b-web the project": func() error { _, err := ana.ProjectGet(ctx, "b-web", nil); return err }(),
		"b-web's log":       func() error { _, err := ana.BuildLogs(ctx, ids[1], 0, 0); return err }(),
		"b-web's log watch": ana.BuildLogsFollow(ctx, ids[1], 0, func(pub.BuildLogMessage) error { return nil }),
		"b-web's artifacts": func() error { _, err := ana.BuildArtifacts(ctx, ids[1]); return err }(),
		"b-web's primary":   ana.BuildArtifactDownload(ctx, ids[1], "primary", io.Discard),
		"b-web's reports":   func() error { _, err := ana.BuildReports(ctx, ids[1]); return err }(),
	} {
		if pub.ErrorCode(err) != pub.CodeForbidden {
			t.Errorf("%s: %v; want forbidden", what, err)
		}
	}
	if b, err := admin.BuildGet(ctx, ids[0], nil); err != nil || b.Status != pub.BuildQueued {
		t.Fatalf("a refused stop stopped the build: %+v, %v", b, err)
	}
}

// TestProjectSourceNeedsReadAccess: a project's builds read its repository on its behalf, so
// whoever sets a project's source must be allowed to read that repository (codecommit:GitPull):
// a user allowed every codebuild action but not to read the repository is refused when creating
// the project and when moving one onto it; allowed to read it, both succeed.
func TestProjectSourceNeedsReadAccess(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	admin := c.Client(0)
	repoWithBuildspec(t, admin, "secret-plans")
	if _, err := admin.UserCreate(ctx, pub.UserCreateRequest{Name: "bo"}); err != nil {
		t.Fatal(err)
	}
	doc := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "codebuild:*", "Resource": "*"}]}`
	if _, err := admin.PolicyCreate(ctx, pub.PolicyPutRequest{Name: "builder", Document: doc}); err != nil {
		t.Fatal(err)
	}
	if err := admin.PolicyAttach(ctx, "builder", pub.PolicyAttachRequest{User: "bo"}); err != nil {
		t.Fatal(err)
	}
	tk, err := admin.UserTokenCreate(ctx, "bo", pub.UserTokenCreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	bo := c.ClientWithToken(0, tk.SecretID)
	src := pub.ProjectSource{Type: pub.SourceSlipwayRepo, Repository: "secret-plans"}
	_, err = bo.ProjectCreate(ctx, pub.ProjectCreateRequest{Name: "exfil", Source: src})
	if pub.ErrorCode(err) != pub.CodeForbidden || !strings.Contains(err.Error(), `may not read repository "secret-plans"`) {
		t.Fatalf("a project over a repository its author may not read: %v; want forbidden naming it", err)
	}
	if _, err := bo.ProjectCreate(ctx, pub.ProjectCreateRequest{Name: "inline", Source: pub.ProjectSource{Type: pub.SourceNone,
		BuildspecInline: "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n"}}); err != nil {
		t.Fatalf("a project without source: %v", err)
	}
	if _, err := bo.ProjectUpdate(ctx, "inline", pub.ProjectUpdateRequest{Source: &src}); pub.ErrorCode(err) != pub.CodeForbidden {
		t.Fatalf("moving a project onto a repository its author may not read: %v; want forbidden", err)
	}
	read := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "codecommit:GitPull", "Resource": "srn:slipway:codecommit:repo/secret-plans"}]}`
	if _, err := admin.PolicyCreate(ctx, pub.PolicyPutRequest{Name: "read-plans", Document: read}); err != nil {
		t.Fatal(err)
	}
	if err := admin.PolicyAttach(ctx, "read-plans", pub.PolicyAttachRequest{User: "bo"}); err != nil {
		t.Fatal(err)
	}
	if _, err := bo.ProjectCreate(ctx, pub.ProjectCreateRequest{Name: "plans", Source: src}); err != nil {
		t.Fatalf("a project over a repository its author may read: %v", err)
	}
}
