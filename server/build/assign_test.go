package build

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/state"
)

// runFSM is a state machine with an index counter, for tests that apply many commands.
type runFSM struct {
	t      *testing.T
	f      *fsm.FSM
	next   uint64
	replay []*raft.Log // every entry applied, for the determinism test
}

func newRunFSM(t *testing.T) *runFSM {
	r := &runFSM{t: t, f: newFSM(t), next: 1}
	exp := t0.Add(24 * time.Hour).UnixNano()
	ok(t, "token", r.do(command.HostTokenCreateCmd, command.HostTokenCreate{AccessorID: "tok", SecretHash: strings.Repeat("t", 64), ExpirationTime: exp}))
	return r
}

// do applies one command at t0 plus a minute per index (so times move forward).
func do[T any](r *runFSM, d command.Def[T], p T) command.Result {
	r.t.Helper()
	return doAt(r, r.now(), d, p)
}

func (r *runFSM) now() time.Time { return t0.Add(time.Duration(r.next) * time.Second) }

func doAt[T any](r *runFSM, at time.Time, d command.Def[T], p T) command.Result {
	r.t.Helper()
	l := logAt(r.t, r.next, at, d, p)
	r.replay = append(r.replay, l)
	r.next++
	res, isResult := r.f.Apply(l).(command.Result)
	if !isResult {
		r.t.Fatal("apply answered no command.Result")
	}
	return res
}

// host registers host id (os linux, arch amd64, tags) online on server s1 with caps.
func (r *runFSM) host(id string, tags map[string]string, caps ...string) {
	r.t.Helper()
	hash := fmt.Sprintf("%064x", len(id)*1000+int(id[len(id)-1]))
	ok(r.t, "register "+id, r.do(command.HostRegisterCmd, command.HostRegister{HostID: id, SecretHash: hash, Name: id, Tags: tags, OS: "linux", Arch: "amd64", Token: "tok"}))
	ok(r.t, "status "+id, r.do(command.HostStatusCmd, command.HostStatus{HostID: id, Server: "s1", Online: true, Capabilities: caps}))
}

func (r *runFSM) dump() string {
	var b strings.Builder
	_ = r.f.Store().View(func(tx *state.Tx) error {
		for _, bk := range [][]byte{bucketProjects, bucketCounters, bucketBuilds, bucketByProject, bucketHistory, bucketQueue, bucketMeta,
			bucketByHost, bucketLogs, bucketReports, bucketFinish} {
			_ = tx.Bucket(bk).ForEach(func(k, v []byte) error {
				fmt.Fprintf(&b, "%s %q=%s\n", bk, k, v)
				return nil
			})
		}
		return nil
	})
	return b.String()
}

// do is the untyped form of do for the helpers above.
func (r *runFSM) do(d any, p any) command.Result {
	r.t.Helper()
	switch d := d.(type) {
	case command.Def[command.HostTokenCreate]:
		return do(r, d, p.(command.HostTokenCreate))
	case command.Def[command.HostRegister]:
		return do(r, d, p.(command.HostRegister))
	case command.Def[command.HostStatus]:
		return do(r, d, p.(command.HostStatus))
	}
	r.t.Fatalf("no helper for %T", d)
	return command.Result{}
}

// TestAssignRechecks: apply refuses an assignment that does not hold any more (each refusal
// changes nothing), and an accepted one moves the build IN_PROGRESS on the host.
func TestAssignRechecks(t *testing.T) {
	r := newRunFSM(t)
	web := repoProject("web")
	web.ConcurrentBuildLimit = 1
	ok(t, "project", do(r, cmdProjectCreate, ProjectCreatePayload{Settings: web, Actor: "ana"}))
	b1, b2 := start("web", 1), start("web", 2)
	b1.ProjectCreateIndex, b2.ProjectCreateIndex = 2, 2
	img := start("web", 3)
	img.ProjectCreateIndex, img.Environment.Image = 2, "golang:1.26"
	lab := start("web", 4)
	lab.ProjectCreateIndex, lab.Environment.Labels = 2, map[string]string{"os": "linux", "pool": "gpu"}
	for _, s := range []StartPayload{b1, b2, img, lab} {
		ok(t, "start", do(r, cmdStart, s))
	}
	r.host("deployer", nil, agentproto.KindDeploy)
	r.host("builder", map[string]string{"pool": "cpu"}, agentproto.KindBuild)
	r.host("docker", map[string]string{"pool": "gpu"}, agentproto.KindBuild, agentproto.CapabilityDocker)

	before := r.dump()
	for _, tc := range []struct {
		what string
		p    AssignPayload
		code fault.Code
		msg  string
	}{
		{"unknown host", AssignPayload{ID: b1.ID, Host: "nope"}, fault.NotFound, `host "nope" not found`},
		{"no build capability", AssignPayload{ID: b1.ID, Host: "deployer"}, fault.Conflict, "does not take builds"},
		{"no docker", AssignPayload{ID: img.ID, Host: "builder"}, fault.Conflict, "needs Docker"},
		{"labels", AssignPayload{ID: lab.ID, Host: "builder"}, fault.Conflict, "do not match the build's labels"},
		{"unknown build", AssignPayload{ID: "web:00000000-0000-4000-8000-000000000099", Host: "builder"}, fault.NotFound, "not found"},
	} {
		wantCode(t, tc.what, do(r, cmdAssign, tc.p), tc.code, tc.msg)
	}
	if after := r.dump(); after != before {
		t.Fatalf("a refused assignment changed the state:\n%s\n---\n%s", before, after)
	}

	at := r.now()
	ok(t, "assign", do(r, cmdAssign, AssignPayload{ID: b1.ID, Host: "builder"}))
	b, _ := buildAt(t, r.f, b1.ID)
	if b.Status != pub.BuildInProgress || b.Agent != "builder" || len(b.Phases) != 3 || b.Phases[1].Status != pub.BuildSucceeded ||
		!b.Phases[1].End.Equal(at) || b.Phases[2].Name != PhaseProvisioning || b.Phases[2].End != nil {
		t.Fatalf("assigned build %+v", b)
	}
	cnt, queued, _ := countersOf(t, r.f, "web")
	if cnt.Running != 1 || cnt.Queued != 3 || queued != 3 {
		t.Fatalf("counters %+v, queued %d", cnt, queued)
	}
	_ = r.f.Store().View(func(tx *state.Tx) error {
		if on := buildsOnHost(tx, "builder"); len(on) != 1 || on[0] != b1.ID {
			t.Fatalf("by-host %v", on)
		}
		if tx.Bucket(bucketQueue).Get(u64(b.Index)) != nil {
			t.Fatal("the assigned build is still in the queue")
		}
		return nil
	})

	before = r.dump()
	wantCode(t, "assigned again", do(r, cmdAssign, AssignPayload{ID: b1.ID, Host: "docker"}), fault.Conflict, "not queued")
	wantCode(t, "a busy host", do(r, cmdAssign, AssignPayload{ID: b2.ID, Host: "builder"}), fault.Conflict, "is running build")
	wantCode(t, "the project's limit", do(r, cmdAssign, AssignPayload{ID: lab.ID, Host: "docker"}), fault.Conflict, "concurrent build limit")
	if after := r.dump(); after != before {
		t.Fatal("a refused assignment changed the state")
	}
}

// TestPlanFairness: the plan takes one build per project per turn, oldest first within a
// project, only to connected, recently seen, free hosts whose capabilities and labels fit.
func TestPlanFairness(t *testing.T) {
	r := newRunFSM(t)
	for _, name := range []string{"big", "small", "win"} {
		ok(t, "project", do(r, cmdProjectCreate, ProjectCreatePayload{Settings: repoProject(name), Actor: "ana"}))
	}
	startIn := func(project string, n int, mod func(*StartPayload)) string {
		s := start(project, n)
		s.ProjectCreateIndex = map[string]uint64{"big": 2, "small": 3, "win": 4}[project]
		if mod != nil {
			mod(&s)
		}
		ok(t, "start", do(r, cmdStart, s))
		return s.ID
	}
	big1 := startIn("big", 1, nil)
	big2 := startIn("big", 2, nil)
	big3 := startIn("big", 3, nil)
	win1 := startIn("win", 1, func(s *StartPayload) { s.Environment.Labels = map[string]string{"os": "windows"} })
	small1 := startIn("small", 1, nil)
	r.host("h1", nil, agentproto.KindBuild)
	r.host("h2", nil, agentproto.KindBuild)
	r.host("h3", nil, agentproto.KindBuild)
	r.host("gone", nil, agentproto.KindBuild)
	ok(t, "offline", do(r, command.HostStatusCmd, command.HostStatus{HostID: "gone", Server: "s1"}))
	r.host("old", nil, agentproto.KindBuild) // seen, but longer ago than the host timeout below
	now := r.now()

	var plan []AssignPayload
	_ = r.f.Store().View(func(tx *state.Tx) error {
		old, _ := tx.GetHost("old")
		plan = Plan(tx, old.LastSeen.Add(time.Minute+time.Second), time.Minute)
		if len(plan) != 0 {
			t.Fatalf("a plan with every host silent: %v", plan)
		}
		plan = Plan(tx, now, time.Hour)
		return nil
	})
	got := fmt.Sprint(plan)
	// Turn 1: big's oldest, small's (win has no host); turn 2: big's next; the fourth host is
	// "old" (hosts are taken in ID order: h1, h2, h3, old).
	want := fmt.Sprint([]AssignPayload{{big1, "h1"}, {small1, "h2"}, {big2, "h3"}, {big3, "old"}})
	if got != want {
		t.Fatalf("plan %s\nwant %s", got, want)
	}
	_ = win1
	for _, a := range plan[:3] {
		ok(t, "assign "+a.ID, do(r, cmdAssign, a))
	}
	// With the limit of big at 2, the last free host gets nothing of big.
	limit := 2
	ok(t, "limit", do(r, cmdProjectUpdate, ProjectUpdatePayload{Name: "big", ConcurrentBuildLimit: &limit}))
	_ = r.f.Store().View(func(tx *state.Tx) error {
		if p := Plan(tx, r.now(), time.Hour); len(p) != 0 {
			t.Fatalf("a plan past the project's limit: %v", p)
		}
		return nil
	})
}

// TestRunLogFormat pins the commands of running builds: numbers, names, versions and payload
// JSON are in the Raft log.
func TestRunLogFormat(t *testing.T) {
	for _, tc := range []struct {
		d interface {
			Type() command.Type
			Name() string
			Version() uint8
		}
		n    command.Type
		name string
	}{{cmdAssign, 1713, "build.assign"}, {cmdReport, 1714, "build.report"}, {cmdFail, 1715, "build.fail"}} {
		if tc.d.Type() != tc.n || tc.d.Name() != tc.name || tc.d.Version() != 1 {
			t.Errorf("command %s is %d %s v%d", tc.name, tc.d.Type(), tc.d.Name(), tc.d.Version())
		}
	}
	for _, tc := range []struct {
		c    *command.Command
		want string
	}{
		{must(cmdAssign.New("", t0, AssignPayload{ID: "web:x", Host: "h"})), `{"id":"web:x","host":"h"}`},
		{must(cmdFail.New("", t0, FailPayload{ID: "web:x", Host: "h", Status: "FAULT", Reason: "r"})), `{"id":"web:x","host":"h","status":"FAULT","reason":"r"}`},
		{must(cmdReport.New("", t0, ReportPayload{ID: "web:x", Host: "h", Events: []ReportEvent{{Seq: 1, Event: "BUILD", Status: "started", Time: t0}},
			Logs: []ReportLog{{Seq: 2, Lines: []logLine{{Time: t0, Phase: "BUILD", Text: "hi"}}}}})),
			`{"id":"web:x","host":"h","events":[{"seq":1,"event":"BUILD","status":"started","time":"2026-12-07T08:00:00Z"}],"logs":[{"seq":2,"lines":[{"time":"2026-12-07T08:00:00Z","phase":"BUILD","text":"hi"}]}]}`},
	} {
		if string(tc.c.Payload) != tc.want {
			t.Errorf("payload %s\nwant    %s", tc.c.Payload, tc.want)
		}
	}
}

func must(c *command.Command, err error) *command.Command {
	if err != nil {
		panic(err)
	}
	return c
}
