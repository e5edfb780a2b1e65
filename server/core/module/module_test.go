package module

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/state"
)

type testPayload struct {
	Name string `json:"name"`
}

// Numbers in the 60000s: no service uses them.
var (
	cmdTestA = command.Define[testPayload](60001, "moduletest.a", 1)
	cmdTestB = command.Define[testPayload](60101, "moduletest.b", 1)
)

type fakeModule struct {
	name string
	reg  func(r *Registry)
}

func (m fakeModule) Name() string                  { return m.name }
func (m fakeModule) Register(r *Registry, _ *Core) { m.reg(r) }

func applyNothing(*state.Tx, uint64, *command.Command, testPayload) (any, error) { return nil, nil }

func okHandler(http.ResponseWriter, *http.Request, *auth.Identity) error { return nil }

// mustPanic runs fn and returns its panic message, failing the test when it does not panic.
func mustPanic(t *testing.T, fn func()) string {
	t.Helper()
	var msg string
	func() {
		defer func() {
			if p := recover(); p != nil {
				msg, _ = p.(string)
			}
		}()
		fn()
		t.Fatal("no panic")
	}()
	return msg
}

func TestRegistryCollectsDeclarations(t *testing.T) {
	reg := NewRegistry(fsm.NewTable())
	reg.Add(&Core{}, fakeModule{"one", func(r *Registry) {
		r.Commands(command.Range{First: 60000, Last: 60099})
		Handle(r, cmdTestA, applyNothing)
		r.Buckets([]byte("one/things"))
		r.Routes(api.Route{Method: "GET", Pattern: "/v1/one", Access: api.AnyToken, Action: "one:ListThings", Resource: "thing/*", Handle: okHandler})
		r.Background("loop", func(context.Context) {})
		r.Leader("lead", func(context.Context) {})
	}})
	if got := reg.AllBuckets(); len(got) != 1 || string(got[0]) != "one/things" {
		t.Fatalf("buckets %q", got)
	}
	if got := reg.AllRoutes(); len(got) != 1 || got[0].Pattern != "/v1/one" {
		t.Fatalf("routes %+v", got)
	}
	bg, lead := reg.Lifecycle()
	if len(bg) != 1 || bg[0].Name != "one/loop" || len(lead) != 1 || lead[0].Name != "one/lead" {
		t.Fatalf("tasks %+v %+v", bg, lead)
	}
	found := false
	for _, typ := range reg.Table().Types() {
		found = found || typ == cmdTestA.Type()
	}
	if !found {
		t.Fatal("the command table lacks the module's command")
	}
	if s := reg.Modules(); len(s) != 1 || s[0].Name != "one" || len(s[0].Commands) != 1 {
		t.Fatalf("summary %+v", s)
	}
}

// TestIndexIsABucketWithABuilder: a declared index is one of the module's buckets, the state
// gets its builder, and the state runs it when it creates the bucket.
func TestIndexIsABucketWithABuilder(t *testing.T) {
	reg := NewRegistry(fsm.NewTable())
	built := 0
	reg.Add(&Core{}, fakeModule{"one", func(r *Registry) {
		r.Buckets([]byte("one/things"))
		r.Index([]byte("one/by_kind"), func(tx *state.Tx) error {
			built++
			return tx.Bucket([]byte("one/by_kind")).Put([]byte("built"), nil)
		})
	}})
	if got := reg.AllBuckets(); len(got) != 2 || string(got[1]) != "one/by_kind" {
		t.Fatalf("buckets %q", got)
	}
	if got := reg.AllIndexes(); len(got) != 1 || string(got[0].Bucket) != "one/by_kind" {
		t.Fatalf("indexes %+v", got)
	}
	s, err := state.OpenIndexed(filepath.Join(t.TempDir(), "state.db"), reg.AllBuckets(), reg.AllIndexes())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	var ok bool
	_ = s.View(func(tx *state.Tx) error {
		ok = tx.Bucket([]byte("one/by_kind")).Get([]byte("built")) != nil
		return nil
	})
	if built != 1 || !ok {
		t.Fatalf("builder ran %d times, wrote its bucket: %v", built, ok)
	}
	msg := mustPanic(t, func() {
		NewRegistry(fsm.NewTable()).Add(&Core{}, fakeModule{"two", func(r *Registry) {
			r.Buckets([]byte("two/x"))
			r.Index([]byte("two/x"), func(*state.Tx) error { return nil })
		}})
	})
	if !strings.Contains(msg, "already two's") {
		t.Fatalf("an index over a declared bucket: panic %q", msg)
	}
}

func TestRegistryRefusesWrongDeclarations(t *testing.T) {
	cases := map[string]struct {
		mods []Module
		want string
	}{
		"command outside the module's ranges": {[]Module{fakeModule{"one", func(r *Registry) {
			r.Commands(command.Range{First: 60000, Last: 60099})
			Handle(r, cmdTestB, applyNothing)
		}}}, "outside its command ranges"},
		"overlapping ranges": {[]Module{
			fakeModule{"one", func(r *Registry) { r.Commands(command.Range{First: 60000, Last: 60099}) }},
			fakeModule{"two", func(r *Registry) { r.Commands(command.Range{First: 60050, Last: 60150}) }},
		}, "overlaps"},
		"bucket of two modules": {[]Module{
			fakeModule{"one", func(r *Registry) { r.Buckets([]byte("shared")) }},
			fakeModule{"two", func(r *Registry) { r.Buckets([]byte("shared")) }},
		}, "already one's"},
		"route without action": {[]Module{fakeModule{"one", func(r *Registry) {
			r.Routes(api.Route{Method: "GET", Pattern: "/v1/x", Access: api.AnyToken, Handle: okHandler})
		}}}, "declares its action and resource"},
		"action of another module": {[]Module{fakeModule{"one", func(r *Registry) {
			r.Routes(api.Route{Method: "GET", Pattern: "/v1/x", Access: api.AnyToken, Action: "two:Read", Resource: "x/*", Handle: okHandler})
		}}}, "of another module"},
		"a shared namespace no earlier module declared": {[]Module{fakeModule{"one", func(r *Registry) {
			r.ShareActions("codething")
		}}}, "which no earlier module declared"},
		"module twice": {[]Module{
			fakeModule{"one", func(*Registry) {}},
			fakeModule{"one", func(*Registry) {}},
		}, "registered twice"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			reg := NewRegistry(fsm.NewTable())
			msg := mustPanic(t, func() { reg.Add(&Core{}, tc.mods...) })
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("panic %q, want it to say %q", msg, tc.want)
			}
		})
	}
}

// TestShareActions: a module extending another's service routes under the namespace the first
// declared.
func TestShareActions(t *testing.T) {
	reg := NewRegistry(fsm.NewTable())
	reg.Add(&Core{},
		fakeModule{"one", func(r *Registry) { r.Actions("codething") }},
		fakeModule{"two", func(r *Registry) {
			r.ShareActions("codething")
			r.Routes(api.Route{Method: "GET", Pattern: "/v1/things", Access: api.AnyToken, Action: "codething:ListThings", Resource: "thing/*", Handle: okHandler})
		}})
	if n := len(reg.AllRoutes()); n != 1 {
		t.Fatalf("%d routes", n)
	}
}

func TestDeclarationsOutsideRegisterAreRefused(t *testing.T) {
	reg := NewRegistry(fsm.NewTable())
	msg := mustPanic(t, func() { reg.Buckets([]byte("late")) })
	if !strings.Contains(msg, "only inside Register") {
		t.Fatalf("panic %q", msg)
	}
}

// recorder counts running tasks and the contexts they were given.
type recorder struct {
	mu      sync.Mutex
	running map[string]int
	started chan string
	ended   chan string
}

func newRecorder() *recorder {
	return &recorder{running: map[string]int{}, started: make(chan string, 16), ended: make(chan string, 16)}
}

func (rc *recorder) task(name string) Task {
	return Task{Name: name, Run: func(ctx context.Context) {
		rc.mu.Lock()
		rc.running[name]++
		rc.mu.Unlock()
		rc.started <- name
		<-ctx.Done()
		rc.mu.Lock()
		rc.running[name]--
		rc.mu.Unlock()
		rc.ended <- name
	}}
}

func (rc *recorder) count(name string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.running[name]
}

func waitStarted(t *testing.T, rc *recorder, want string) {
	t.Helper()
	select {
	case got := <-rc.started:
		if got != want {
			t.Fatalf("started %s, want %s", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not start", want)
	}
}

func waitEnded(t *testing.T, rc *recorder, want string) {
	t.Helper()
	select {
	case got := <-rc.ended:
		if got != want {
			t.Fatalf("ended %s, want %s", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not end", want)
	}
}

func TestLeaderTasksEndWithLeadership(t *testing.T) {
	rc := newRecorder()
	r := NewRunner([]Task{rc.task("bg")}, []Task{rc.task("lead")}, nil)
	r.Start()
	waitStarted(t, rc, "bg")

	term1, lose1 := context.WithCancel(context.Background())
	r.LeaderStart(term1)
	waitStarted(t, rc, "lead")
	lose1()
	waitEnded(t, rc, "lead")
	if rc.count("bg") != 1 {
		t.Fatal("losing leadership stopped a background task")
	}

	term2, lose2 := context.WithCancel(context.Background())
	defer lose2()
	r.LeaderStart(term2)
	waitStarted(t, rc, "lead")
	r.Stop() // waits for every task
	if rc.count("lead") != 0 || rc.count("bg") != 0 {
		t.Fatalf("tasks still running after Stop: lead %d bg %d", rc.count("lead"), rc.count("bg"))
	}
	r.LeaderStart(context.Background()) // after Stop: starts nothing
	select {
	case name := <-rc.started:
		t.Fatalf("%s started after Stop", name)
	default:
	}
}

func TestLeadershipBeforeStartWaitsForStart(t *testing.T) {
	rc := newRecorder()
	r := NewRunner(nil, []Task{rc.task("lead")}, nil)
	term, lose := context.WithCancel(context.Background())
	defer lose()
	r.LeaderStart(term)
	select {
	case <-rc.started:
		t.Fatal("a leader task started before Start: the server's parts may not be built yet")
	default:
	}
	r.Start()
	waitStarted(t, rc, "lead")
	r.Stop()

	// A leadership lost before Start starts nothing.
	rc2 := newRecorder()
	r2 := NewRunner(nil, []Task{rc2.task("lead")}, nil)
	gone, loseGone := context.WithCancel(context.Background())
	r2.LeaderStart(gone)
	loseGone()
	r2.Start()
	r2.Stop()
	if len(rc2.started) != 0 {
		t.Fatal("a leader task started for a leadership already lost")
	}
}

func TestChecksAgentWorkAndRevisionNames(t *testing.T) {
	reg := NewRegistry(fsm.NewTable())
	namer := func(*state.Tx) map[string]string { return map[string]string{"g1": "app/group"} }
	reg.Add(&Core{}, fakeModule{"one", func(r *Registry) {
		r.Commands(command.Range{First: 60000, Last: 60099})
		Handle(r, cmdTestA, applyNothing)
		Before(r, cmdTestA, func(*state.Tx, *command.Command, testPayload) error { return nil })
		r.RevisionNames(namer)
	}})
	if got := reg.AllRevisionNames(); got == nil || got(nil)["g1"] != "app/group" {
		t.Fatal("the declared revision namer is not the registry's")
	}
	msg := mustPanic(t, func() {
		reg.Add(&Core{}, fakeModule{"two", func(r *Registry) { r.RevisionNames(namer) }})
	})
	if !strings.Contains(msg, "names host revisions") {
		t.Fatalf("a second revision namer: panic %q", msg)
	}
}

// TestConsoleRoutesNameTheAPIsActions: a console page is authorized by the action of the API
// route that answers the same question, whichever module owns it, so a Console route may name
// another module's action; an API route still may not.
func TestConsoleRoutesNameTheAPIsActions(t *testing.T) {
	reg := NewRegistry(fsm.NewTable())
	reg.Add(&Core{}, fakeModule{"one", func(r *Registry) {
		r.Routes(api.Route{Method: "GET", Pattern: "/ui/x", Access: api.Console, Action: "two:Read", Resource: "x/*", Handle: okHandler})
	}})
}
