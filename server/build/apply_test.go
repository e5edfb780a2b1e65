package build

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
)

// t0 is the time of every command of these tests unless one says otherwise.
var t0 = time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)

const commit1 = "1111111111111111111111111111111111111111"

// newFSM is a state machine with the service registered as the server registers it.
func newFSM(t *testing.T) *fsm.FSM {
	t.Helper()
	reg := module.NewRegistry(fsm.NewTable())
	reg.Add(&module.Core{}, New())
	s, err := state.Open(filepath.Join(t.TempDir(), "state.db"), reg.AllBuckets()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return fsm.New(s, reg.Table(), slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func logAt[T any](t *testing.T, index uint64, at time.Time, d command.Def[T], p T) *raft.Log {
	t.Helper()
	c, err := d.New("", at, p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := command.Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	return &raft.Log{Index: index, Type: raft.LogCommand, Data: b}
}

func applyAt[T any](t *testing.T, f *fsm.FSM, index uint64, at time.Time, d command.Def[T], p T) command.Result {
	t.Helper()
	r, ok := f.Apply(logAt(t, index, at, d, p)).(command.Result)
	if !ok {
		t.Fatal("apply answered no command.Result")
	}
	return r
}

func apply[T any](t *testing.T, f *fsm.FSM, index uint64, d command.Def[T], p T) command.Result {
	t.Helper()
	return applyAt(t, f, index, t0, d, p)
}

func wantCode(t *testing.T, what string, r command.Result, code fault.Code, msg string) {
	t.Helper()
	if fault.Code(r.Code) != code || !strings.Contains(r.Message, msg) {
		t.Fatalf("%s: %+v; want %s saying %q", what, r, code, msg)
	}
}

func ok(t *testing.T, what string, r command.Result) {
	t.Helper()
	if err := r.Err(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func repoProject(name string) Settings {
	return Settings{Name: name, Source: Source{Type: pub.SourceSlipwayRepo, Repository: "web"}}
}

func start(project string, n int) StartPayload {
	return StartPayload{ID: fmt.Sprintf("%s:00000000-0000-4000-8000-%012d", project, n), Project: project, ProjectCreateIndex: 1,
		Initiator: "ana", ResolvedSourceVersion: commit1, Source: Source{Type: pub.SourceSlipwayRepo, Repository: "web"},
		TimeoutMinutes: 60, QueuedTimeoutMinutes: 5}
}

func buildAt(t *testing.T, f *fsm.FSM, id string) (Build, bool) {
	t.Helper()
	var b Build
	var found bool
	if err := f.Store().View(func(tx *state.Tx) error {
		var err error
		b, found, err = getBuild(tx, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return b, found
}

func countersOf(t *testing.T, f *fsm.FSM, project string) (c Counters, queued, builds uint64) {
	t.Helper()
	_ = f.Store().View(func(tx *state.Tx) error {
		var err error
		c, err = getCounters(tx, project)
		queued, builds = meta(tx, metaQueued), meta(tx, metaBuilds)
		return err
	})
	return c, queued, builds
}

// TestLogFormat pins the service's commands and buckets: numbers, names, versions and JSON are in
// the Raft log and in snapshots.
func TestLogFormat(t *testing.T) {
	for i, tc := range []struct {
		d interface {
			Type() command.Type
			Name() string
			Version() uint8
		}
		n    command.Type
		name string
	}{
		{cmdProjectCreate, 1700, "build.project_create"}, {cmdProjectUpdate, 1701, "build.project_update"},
		{cmdProjectDelete, 1702, "build.project_delete"}, {cmdStart, 1710, "build.start"}, {cmdStop, 1711, "build.stop"},
		{cmdQueueTimeout, 1712, "build.queue_timeout"},
	} {
		if tc.d.Type() != tc.n || tc.d.Name() != tc.name || tc.d.Version() != 1 {
			t.Errorf("command %d is %d %s v%d", i, tc.d.Type(), tc.d.Name(), tc.d.Version())
		}
	}
	c, _ := cmdStop.New("", t0, StopPayload{ID: "web:x", Actor: "ana"})
	if string(c.Payload) != `{"id":"web:x","actor":"ana"}` {
		t.Fatalf("build.stop payload %s", c.Payload)
	}
	got := []string{}
	for _, b := range [][]byte{bucketProjects, bucketCounters, bucketBuilds, bucketByProject, bucketHistory, bucketQueue, bucketMeta} {
		got = append(got, string(b))
	}
	if strings.Join(got, " ") != "build/projects build/counters build/builds build/by-project build/history build/queue build/meta" {
		t.Fatalf("buckets %v", got)
	}
}

// TestProjectBounds: a create with defaults, every refusal leaving nothing behind, a partial
// update, and an update that would make the project invalid refused.
func TestProjectBounds(t *testing.T) {
	f := newFSM(t)
	r := apply(t, f, 1, cmdProjectCreate, ProjectCreatePayload{Settings: repoProject("web"), Actor: "ana"})
	ok(t, "create", r)
	p, _ := command.Data[Project](r)
	if p.TimeoutMinutes != 60 || p.QueuedTimeoutMinutes != 480 || p.Artifacts.Type != "NO_ARTIFACTS" || p.Cache.Type != "NO_CACHE" ||
		p.CreatedBy != "ana" || p.CreateIndex != 1 || !p.CreateTime.Equal(t0) {
		t.Fatalf("created %+v", p)
	}
	wantCode(t, "a name in use", apply(t, f, 2, cmdProjectCreate, ProjectCreatePayload{Settings: repoProject("web")}), fault.Conflict, "already exists")

	idx := uint64(100)
	vars := func(n int) []Variable {
		var vs []Variable
		for i := 0; i < n; i++ {
			vs = append(vs, Variable{Name: fmt.Sprintf("V%d", i), Value: "x"})
		}
		return vs
	}
	for _, tc := range []struct {
		what string
		edit func(s *Settings)
		msg  string
	}{
		{"a one-letter name", func(s *Settings) { s.Name = "a" }, "2-255 letters"},
		{"a name starting with -", func(s *Settings) { s.Name = "-web" }, "starting with a letter or digit"},
		{"a name with a dot", func(s *Settings) { s.Name = "web.app" }, "2-255 letters"},
		{"a name of 256", func(s *Settings) { s.Name = strings.Repeat("a", 256) }, "2-255"},
		{"a timeout of 4", func(s *Settings) { s.TimeoutMinutes = 4 }, "timeout 4 minutes is not 5-2160"},
		{"a timeout of 2161", func(s *Settings) { s.TimeoutMinutes = 2161 }, "not 5-2160"},
		{"a queued timeout of 481", func(s *Settings) { s.QueuedTimeoutMinutes = 481 }, "queued timeout 481 minutes is not 5-480"},
		{"no repository", func(s *Settings) { s.Source.Repository = "" }, "source repository"},
		{"an unknown source type", func(s *Settings) { s.Source.Type = "S3" }, "not SLIPWAY_REPO or NO_SOURCE"},
		{"NO_SOURCE without an inline buildspec", func(s *Settings) { s.Source = Source{Type: "NO_SOURCE"} }, "needs its buildspec inline"},
		{"a path and inline text", func(s *Settings) { s.Source.Buildspec, s.Source.BuildspecInline = "b.yml", "version: 0.2" }, "not both"},
		{"a buildspec path with ..", func(s *Settings) { s.Source.Buildspec = "../b.yml" }, "relative path"},
		{"an absolute buildspec path", func(s *Settings) { s.Source.Buildspec = "/b.yml" }, "relative path"},
		{"an inline buildspec over 64 KiB", func(s *Settings) {
			s.Source.BuildspecInline = strings.Repeat("#", MaxInlineBuildspec+1)
		}, "at most 65536"},
		{"201 variables", func(s *Settings) { s.Environment.Variables = vars(201) }, "at most 200"},
		{"a variable twice", func(s *Settings) { s.Environment.Variables = []Variable{{Name: "A"}, {Name: "A"}} }, "given twice"},
		{"a variable named 1A", func(s *Settings) { s.Environment.Variables = []Variable{{Name: "1A"}} }, "letters, digits"},
		{"a CODEBUILD_ variable", func(s *Settings) { s.Environment.Variables = []Variable{{Name: "CODEBUILD_X"}} }, "CODEBUILD_"},
		{"a secret variable without a name", func(s *Settings) {
			s.Environment.Variables = []Variable{{Name: "DB", Type: "SECRETS_MANAGER"}}
		}, "must be a secret's name"},
		{"an unknown variable type", func(s *Settings) { s.Environment.Variables = []Variable{{Name: "A", Type: "PARAMETER_STORE"}} }, "not PLAINTEXT or SECRETS_MANAGER"},
		{"privileged without an image", func(s *Settings) { s.Environment.Privileged = true }, "privileged mode is Docker's"},
		{"an image with a space", func(s *Settings) { s.Environment.Image = "go lang" }, "Docker image"},
		{"21 labels", func(s *Settings) {
			s.Environment.Labels = map[string]string{}
			for i := 0; i < 21; i++ {
				s.Environment.Labels[fmt.Sprintf("l%d", i)] = "x"
			}
		}, "at most 20"},
		{"a label key in capitals", func(s *Settings) { s.Environment.Labels = map[string]string{"OS": "linux"} }, "lowercase"},
		{"an unknown artifacts type", func(s *Settings) { s.Artifacts.Type = "S3" }, "not NO_ARTIFACTS or BLOB"},
		{"a name of no artifacts", func(s *Settings) { s.Artifacts.Name = "x" }, "have no name"},
		{"an unknown cache type", func(s *Settings) { s.Cache.Type = "S3" }, "not NO_CACHE or LOCAL"},
		{"a concurrent build limit of 1001", func(s *Settings) { s.ConcurrentBuildLimit = 1001 }, "concurrent_build_limit"},
		{"a bad role name", func(s *Settings) { s.ServiceRole = "a b" }, "service role name"},
		{"a description of 256", func(s *Settings) { s.Description = strings.Repeat("d", 256) }, "at most 255"},
	} {
		s := repoProject("app")
		tc.edit(&s)
		idx++
		r := apply(t, f, idx, cmdProjectCreate, ProjectCreatePayload{Settings: s})
		if fault.Code(r.Code) != fault.Invalid && fault.Code(r.Code) != fault.TooLarge || !strings.Contains(r.Message, tc.msg) {
			t.Errorf("%s: %+v; want refused saying %q", tc.what, r, tc.msg)
		}
	}
	_ = f.Store().View(func(tx *state.Tx) error {
		if _, found, _ := getProject(tx, "app"); found || meta(tx, metaProjects) != 1 {
			t.Errorf("a refused create left a project (count %d)", meta(tx, metaProjects))
		}
		return nil
	})

	// A partial update changes what it sets only.
	desc, timeout := "the shop", 90
	r = apply(t, f, 1000, cmdProjectUpdate, ProjectUpdatePayload{Name: "web", Description: &desc, TimeoutMinutes: &timeout})
	ok(t, "update", r)
	if p, _ := command.Data[Project](r); p.Description != "the shop" || p.TimeoutMinutes != 90 || p.QueuedTimeoutMinutes != 480 ||
		p.Source.Repository != "web" || p.ModifyIndex != 1000 || p.CreateIndex != 1 {
		t.Fatalf("updated %+v", p)
	}
	bad := 3
	wantCode(t, "an update to a bad timeout", apply(t, f, 1001, cmdProjectUpdate, ProjectUpdatePayload{Name: "web", TimeoutMinutes: &bad}), fault.Invalid, "not 5-2160")
	wantCode(t, "an update of a missing project", apply(t, f, 1002, cmdProjectUpdate, ProjectUpdatePayload{Name: "nope", Description: &desc}), fault.NotFound, "not found")
	_ = f.Store().View(func(tx *state.Tx) error {
		if p, _, _ := getProject(tx, "web"); p.TimeoutMinutes != 90 || p.ModifyIndex != 1000 {
			t.Errorf("a refused update changed the project: %+v", p)
		}
		return nil
	})
}

// TestMaxProjects fills the cluster to its bound in one batch: the next project is refused, and a
// delete makes room.
func TestMaxProjects(t *testing.T) {
	f := newFSM(t)
	logs := make([]*raft.Log, 0, MaxProjects+1)
	for i := 0; i <= MaxProjects; i++ {
		logs = append(logs, logAt(t, uint64(i+1), t0, cmdProjectCreate, ProjectCreatePayload{Settings: repoProject(fmt.Sprintf("p%05d", i))}))
	}
	res := f.ApplyBatch(logs)
	for i, r := range res[:MaxProjects] {
		ok(t, fmt.Sprintf("project %d", i), r.(command.Result))
	}
	wantCode(t, "project 5,001", res[MaxProjects].(command.Result), fault.Conflict, "maximum of 5000 build projects")
	idx := uint64(MaxProjects + 2)
	ok(t, "delete", apply(t, f, idx, cmdProjectDelete, ProjectDeletePayload{Name: "p00000"}))
	ok(t, "a project after a delete", apply(t, f, idx+1, cmdProjectCreate, ProjectCreatePayload{Settings: repoProject("p05000")}))
}

// TestStartNumbersStopAndDelete: builds are numbered per project in start order, recorded
// QUEUED with SUBMITTED done and QUEUED begun; a stopped queued build is STOPPED with its
// phases ended; a build in progress only gets stop_requested; a project with builds queued is
// not deleted, and its delete takes its builds.
func TestStartNumbersStopAndDelete(t *testing.T) {
	f := newFSM(t)
	ok(t, "web", apply(t, f, 1, cmdProjectCreate, ProjectCreatePayload{Settings: repoProject("web")}))
	ok(t, "api", apply(t, f, 2, cmdProjectCreate, ProjectCreatePayload{Settings: repoProject("api")}))
	s := start("web", 1)
	s.ProjectCreateIndex = 2
	wantCode(t, "a start for another life of the project", apply(t, f, 3, cmdStart, s), fault.Conflict, "deleted and created again")
	s = start("api", 1)
	s.Project = "web"
	wantCode(t, "an ID of another project", apply(t, f, 4, cmdStart, s), fault.Invalid, `not of project "web"`)
	s = start("web", 1)
	s.ResolvedSourceVersion = "main"
	wantCode(t, "an unresolved version", apply(t, f, 5, cmdStart, s), fault.Invalid, "not a commit ID")

	r := apply(t, f, 10, cmdStart, start("web", 1))
	ok(t, "start 1", r)
	b, _ := command.Data[Build](r)
	if b.Number != 1 || b.Status != "QUEUED" || !b.Start.Equal(t0) || b.Index != 10 || len(b.Phases) != 2 ||
		b.Phases[0].Name != "SUBMITTED" || b.Phases[0].Status != "SUCCEEDED" || b.Phases[1].Name != "QUEUED" || b.Phases[1].End != nil {
		t.Fatalf("started %+v", b)
	}
	wantCode(t, "the same ID again", apply(t, f, 11, cmdStart, start("web", 1)), fault.Conflict, "already exists")
	ok(t, "start 2", apply(t, f, 12, cmdStart, start("web", 2)))
	s = start("api", 3)
	s.ProjectCreateIndex = 2
	r = apply(t, f, 13, cmdStart, s)
	if b, _ := command.Data[Build](r); b.Number != 1 {
		t.Fatalf("api's first build is number %d", b.Number)
	}
	if b, _ := command.Data[Build](apply(t, f, 14, cmdStart, start("web", 4))); b.Number != 3 {
		t.Fatalf("web's third build is number %d", b.Number)
	}
	if c, queued, builds := countersOf(t, f, "web"); c.LastNumber != 3 || c.Queued != 3 || c.Builds != 3 || queued != 4 || builds != 4 {
		t.Fatalf("counters %+v, %d queued, %d builds", c, queued, builds)
	}

	// Stop a queued build.
	at := t0.Add(time.Minute)
	r = applyAt(t, f, 20, at, cmdStop, StopPayload{ID: start("web", 1).ID, Actor: "bo"})
	ok(t, "stop", r)
	b, _ = command.Data[Build](r)
	if b.Status != "STOPPED" || b.End == nil || !b.End.Equal(at) || len(b.Phases) != 3 || b.Phases[1].Status != "STOPPED" ||
		!b.Phases[1].End.Equal(at) || !strings.Contains(b.Phases[1].Message, "stopped by bo") || b.Phases[2].Name != "COMPLETED" || b.ModifyIndex != 20 {
		t.Fatalf("stopped %+v", b)
	}
	if c, queued, _ := countersOf(t, f, "web"); c.Queued != 2 || queued != 3 {
		t.Fatalf("after a stop: %+v, %d queued", c, queued)
	}
	r = apply(t, f, 21, cmdStop, StopPayload{ID: start("web", 1).ID, Actor: "bo"})
	if again, _ := command.Data[Build](r); r.Err() != nil || again.ModifyIndex != 20 || again.Status != "STOPPED" {
		t.Fatalf("a stop of a stopped build: %+v, %v", again, r.Err())
	}
	wantCode(t, "a stop of a missing build", apply(t, f, 22, cmdStop, StopPayload{ID: start("web", 9).ID}), fault.NotFound, "not found")

	// A build in progress (the workers' step moves builds there) gets stop_requested only.
	_ = f.Store().Update(func(tx *state.Tx) error {
		b, _, _ := getBuild(tx, start("web", 2).ID)
		b.Status = "IN_PROGRESS"
		return state.Put(tx, bucketBuilds, b.ID, b)
	})
	b, _ = command.Data[Build](apply(t, f, 23, cmdStop, StopPayload{ID: start("web", 2).ID}))
	if b.Status != "IN_PROGRESS" || !b.StopRequested || b.End != nil {
		t.Fatalf("a stop of a build in progress: %+v", b)
	}

	wantCode(t, "delete with builds queued", apply(t, f, 30, cmdProjectDelete, ProjectDeletePayload{Name: "web"}), fault.Conflict, "queued or in progress")
	ok(t, "delete api's only build's project after its stop", apply(t, f, 31, cmdStop, StopPayload{ID: start("api", 3).ID}))
	ok(t, "delete api", apply(t, f, 32, cmdProjectDelete, ProjectDeletePayload{Name: "api"}))
	if _, found := buildAt(t, f, start("api", 3).ID); found {
		t.Fatal("a deleted project's build is still there")
	}
	if _, queued, builds := countersOf(t, f, "api"); queued != 2 || builds != 3 {
		t.Fatalf("after the delete: %d queued, %d builds", queued, builds)
	}
}

// TestQueueBounds: a project holds at most MaxQueuedPerProject queued builds; a stop makes room.
func TestQueueBounds(t *testing.T) {
	f := newFSM(t)
	ok(t, "web", apply(t, f, 1, cmdProjectCreate, ProjectCreatePayload{Settings: repoProject("web")}))
	logs := []*raft.Log{}
	for i := 0; i <= MaxQueuedPerProject; i++ {
		logs = append(logs, logAt(t, uint64(10+i), t0, cmdStart, start("web", i)))
	}
	res := f.ApplyBatch(logs)
	for i, r := range res[:MaxQueuedPerProject] {
		ok(t, fmt.Sprintf("start %d", i), r.(command.Result))
	}
	wantCode(t, "start 101", res[MaxQueuedPerProject].(command.Result), fault.Conflict, "already has 100 builds queued")
	ok(t, "stop", apply(t, f, 500, cmdStop, StopPayload{ID: start("web", 0).ID}))
	ok(t, "start after a stop", apply(t, f, 501, cmdStart, start("web", 1000)))
}

// TestQueuedTimeout: the timeout applies only once the deadline passed by the command's time and
// only to a build still queued; the build ends TIMED_OUT in its QUEUED phase, as CodeBuild's.
func TestQueuedTimeout(t *testing.T) {
	f := newFSM(t)
	ok(t, "web", apply(t, f, 1, cmdProjectCreate, ProjectCreatePayload{Settings: repoProject("web")}))
	ok(t, "start", apply(t, f, 2, cmdStart, start("web", 1))) // queued timeout 5 minutes
	id := start("web", 1).ID
	early := t0.Add(5*time.Minute - time.Second)
	ok(t, "early", applyAt(t, f, 3, early, cmdQueueTimeout, QueueTimeoutPayload{ID: id}))
	if b, _ := buildAt(t, f, id); b.Status != "QUEUED" {
		t.Fatalf("timed out early: %+v", b)
	}
	late := t0.Add(5 * time.Minute)
	ok(t, "on time", applyAt(t, f, 4, late, cmdQueueTimeout, QueueTimeoutPayload{ID: id}))
	b, _ := buildAt(t, f, id)
	if b.Status != "TIMED_OUT" || !b.End.Equal(late) || b.Phases[1].Status != "TIMED_OUT" || !strings.Contains(b.Phases[1].Message, "queued timeout of 5 minutes") ||
		b.Phases[2].Name != "COMPLETED" || b.ModifyIndex != 4 {
		t.Fatalf("timed out: %+v", b)
	}
	// Proposed again (a new leader's sweep): nothing changes.
	ok(t, "again", applyAt(t, f, 5, late.Add(time.Hour), cmdQueueTimeout, QueueTimeoutPayload{ID: id}))
	if again, _ := buildAt(t, f, id); again.ModifyIndex != 4 {
		t.Fatalf("a second timeout changed the build: %+v", again)
	}
	ok(t, "a missing build", applyAt(t, f, 6, late, cmdQueueTimeout, QueueTimeoutPayload{ID: start("web", 7).ID}))
	if c, queued, _ := countersOf(t, f, "web"); c.Queued != 0 || queued != 0 {
		t.Fatalf("after the timeout: %+v, %d queued", c, queued)
	}
}

// TestRetention: a project keeps its KeepPerProject newest records; the oldest ended ones go,
// never a queued one.
func TestRetention(t *testing.T) {
	f := newFSM(t)
	ok(t, "web", apply(t, f, 1, cmdProjectCreate, ProjectCreatePayload{Settings: repoProject("web")}))
	ok(t, "a build that stays queued", apply(t, f, 2, cmdStart, start("web", 0)))
	logs := []*raft.Log{}
	idx := uint64(10)
	for i := 1; i <= KeepPerProject+2; i++ {
		logs = append(logs, logAt(t, idx, t0, cmdStart, start("web", i)), logAt(t, idx+1, t0, cmdStop, StopPayload{ID: start("web", i).ID}))
		idx += 2
	}
	for i, r := range f.ApplyBatch(logs) {
		ok(t, fmt.Sprintf("command %d", i), r.(command.Result))
	}
	c, _, builds := countersOf(t, f, "web")
	if c.Builds != KeepPerProject || builds != KeepPerProject || c.LastNumber != KeepPerProject+3 {
		t.Fatalf("after %d builds: %+v, %d records", KeepPerProject+3, c, builds)
	}
	if _, found := buildAt(t, f, start("web", 0).ID); !found {
		t.Fatal("the queued build was dropped")
	}
	for i, want := range map[int]bool{1: false, 2: false, 3: false, 4: true, KeepPerProject + 2: true} {
		if _, found := buildAt(t, f, start("web", i).ID); found != want {
			t.Errorf("build %d kept: %v, want %v", i, found, want)
		}
	}
}

// TestListNewest pages builds newest first, of one project and of the cluster.
func TestListNewest(t *testing.T) {
	f := newFSM(t)
	ok(t, "web", apply(t, f, 1, cmdProjectCreate, ProjectCreatePayload{Settings: repoProject("web")}))
	ok(t, "we", apply(t, f, 2, cmdProjectCreate, ProjectCreatePayload{Settings: repoProject("we")}))
	for i, p := range []string{"web", "we", "web", "web", "we"} {
		s := start(p, i)
		s.ProjectCreateIndex = map[string]uint64{"web": 1, "we": 2}[p]
		ok(t, "start", apply(t, f, uint64(10+i), cmdStart, s))
	}
	list := func(bucket, prefix []byte, before uint64, limit int) string {
		var out []string
		var next uint64
		_ = f.Store().View(func(tx *state.Tx) error {
			l, n, err := listNewest(tx, bucket, bucketBuilds, prefix, before, limit, getBuild)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range l {
				out = append(out, fmt.Sprintf("%s#%d", b.Project, b.Number))
			}
			next = n
			return nil
		})
		return fmt.Sprintf("%s|%d", strings.Join(out, ","), next)
	}
	web := append([]byte("web"), 0)
	for _, tc := range []struct {
		bucket, prefix []byte
		before         uint64
		limit          int
		want           string
	}{
		{bucketByProject, web, 0, 100, "web#3,web#2,web#1|0"},
		{bucketByProject, web, 0, 2, "web#3,web#2|2"},
		{bucketByProject, web, 2, 2, "web#1|0"},
		{bucketByProject, append([]byte("we"), 0), 0, 100, "we#2,we#1|0"},
		{bucketByProject, append([]byte("zz"), 0), 0, 100, "|0"},
		{bucketHistory, nil, 0, 100, "we#2,web#3,web#2,we#1,web#1|0"},
		{bucketHistory, nil, 0, 2, "we#2,web#3|13"},
		{bucketHistory, nil, 13, 10, "web#2,we#1,web#1|0"},
	} {
		if got := list(tc.bucket, tc.prefix, tc.before, tc.limit); got != tc.want {
			t.Errorf("list %q before %d limit %d: %s, want %s", tc.prefix, tc.before, tc.limit, got, tc.want)
		}
	}
}

// TestApplyIsDeterministic: two state machines fed the same log hold byte-identical records.
func TestApplyIsDeterministic(t *testing.T) {
	dump := func(f *fsm.FSM) string {
		var b strings.Builder
		_ = f.Store().View(func(tx *state.Tx) error {
			for _, bk := range [][]byte{bucketProjects, bucketCounters, bucketBuilds, bucketByProject, bucketHistory, bucketQueue, bucketMeta} {
				_ = tx.Bucket(bk).ForEach(func(k, v []byte) error {
					fmt.Fprintf(&b, "%s %q=%s\n", bk, k, v)
					return nil
				})
			}
			return nil
		})
		return b.String()
	}
	logs := []*raft.Log{
		logAt(t, 1, t0, cmdProjectCreate, ProjectCreatePayload{Settings: repoProject("web"), Actor: "ana"}),
		logAt(t, 2, t0, cmdStart, start("web", 1)),
		logAt(t, 3, t0, cmdStart, start("web", 2)),
		logAt(t, 4, t0.Add(time.Minute), cmdStop, StopPayload{ID: start("web", 1).ID, Actor: "bo"}),
		logAt(t, 5, t0.Add(time.Hour), cmdQueueTimeout, QueueTimeoutPayload{ID: start("web", 2).ID}),
		logAt(t, 6, t0, cmdStart, start("web", 3)),
	}
	one, two := newFSM(t), newFSM(t)
	for _, l := range logs {
		one.Apply(l)
	}
	two.ApplyBatch(logs)
	if a, b := dump(one), dump(two); a != b || !strings.Contains(a, `"status":"TIMED_OUT"`) || !strings.Contains(a, `"number":3`) {
		t.Fatalf("the state machines differ or are wrong:\n%s\n---\n%s", a, b)
	}
}

// TestListProjects pages projects in name order, by count and by bytes.
func TestListProjects(t *testing.T) {
	f := newFSM(t)
	big := strings.Repeat("#", MaxInlineBuildspec)
	for i := 0; i < 100; i++ {
		s := repoProject(fmt.Sprintf("p%02d", i))
		s.Source.BuildspecInline = big
		ok(t, "create", apply(t, f, uint64(i+1), cmdProjectCreate, ProjectCreatePayload{Settings: s}))
	}
	page := func(after string, limit int) (int, string, string) {
		var l []Project
		var next string
		_ = f.Store().View(func(tx *state.Tx) error {
			var err error
			l, next, err = listProjects(tx, after, limit)
			return err
		})
		if len(l) == 0 {
			return 0, "", next
		}
		return len(l), l[0].Name, next
	}
	if n, first, next := page("", 10); n != 10 || first != "p00" || next != "p09" {
		t.Fatalf("first page: %d from %s, next %s", n, first, next)
	}
	if n, first, next := page("p09", 1000); n != 64 || first != "p10" || next != "p73" {
		// 64 records of a little over 64 KiB pass 4 MiB: the page ends with the one that passed it.
		t.Fatalf("a page bounded by bytes: %d from %s, next %s", n, first, next)
	}
	if n, _, next := page("p99", 10); n != 0 || next != "" {
		t.Fatalf("after the last: %d, next %q", n, next)
	}
}
