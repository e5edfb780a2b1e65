// Package module is how services plug into the core. A service is a Go package with a type that
// implements Module; the server lists its modules in one place (server/services.go) and the
// Registry collects, from each one's Register, everything it brings:
//
//   - its commands (command.Def with a typed handler, in the command ranges it owns), and
//     checks it runs before other modules' commands (Before),
//   - its state buckets, and the derived ones (indexes) with the function that builds each,
//   - its HTTP routes, each with the action and resource it needs,
//   - its background tasks (on every server) and leader tasks (on the leader, with a context
//     that ends when leadership is lost),
//   - the kinds of agent work it sends (see server/core/session),
//   - how the hosts API names the keys of hosts' current revisions (RevisionNames).
//
// The core (command, fsm, state, raftstore, blob, keyring, auth, session, api, config) knows no
// service by name: depguard forbids server/core from importing a service, and this package is
// the core's only meeting point with them.
package module

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/blob"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/keyring"
	"github.com/slipwayhq/slipway/server/core/session"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Module is a service (or a core component) plugged into a server.
type Module interface {
	// Name is the module's short name ("deploy", "kv"): the prefix of its new buckets, its log
	// component and the service part of its route actions.
	Name() string
	// Register declares what the module brings. It runs once per server, before the Raft log is
	// replayed; core is the handle to the core's parts, usable from the moment tasks start and
	// routes are served (not during Register itself).
	Register(r *Registry, core *Core)
}

// Cluster is what services need from the node's Raft member.
type Cluster interface {
	command.Proposer
	ID() string
	IsLeader() bool
	ConsistentRead(ctx context.Context) error
	AppliedIndex() uint64
	WaitApplied(ctx context.Context, index uint64) error
}

// Core is the handle services reach the core through. The server fills it in once the node is
// open, before any task starts or route is served.
type Core struct {
	Cluster Cluster
	State   *state.Store
	Events  *fsm.Broker
	HTTP    *api.Kit
	Log     *slog.Logger
	Now     func() time.Time // the proposer's clock: commands carry its time
	Blobs   *blob.Service    // replicated content-addressed files (bundles, later artifacts)
	Keyring *keyring.Ring    // the cluster's data keys (sealing secrets)
	Agents  *session.Hub     // the agent sessions of this server
	// DataDir is the server's data directory (absolute, cleaned). A service that keeps files of
	// its own on each server (the git service's bare copies) does so under DataDir/<module name>.
	DataDir string
}

// Task is work that runs for as long as the server (Background) or its leadership (Leader) does.
type Task struct {
	Name string
	Run  func(ctx context.Context)
}

// Registry collects the modules' declarations. Its methods panic on a declaration that cannot be
// right (a command outside the module's ranges, a bucket or route declared twice): such a build
// must not start, and the registration test catches it.
type Registry struct {
	commands *fsm.Table
	current  *entry
	entries  []*entry
	buckets  map[string]string // bucket → module
	policies api.Policies      // the identity service's (Authorizer)
}

type entry struct {
	module        Module
	secretEvents  []string
	name          string
	actions       []string // action namespaces besides name (Actions)
	revisionNames func(tx *state.Tx) map[string]string
	ranges        []command.Range
	buckets       [][]byte
	indexes       []state.Index
	routes        []api.Route
	background    []Task
	leader        []Task
	types         []command.Type
	work          []session.Work
}

// NewRegistry returns a registry that adds to table (which holds the core's own commands).
func NewRegistry(table *fsm.Table) *Registry {
	return &Registry{commands: table, buckets: map[string]string{}}
}

// Add registers modules in order.
func (r *Registry) Add(core *Core, mods ...Module) {
	for _, m := range mods {
		for _, e := range r.entries {
			if e.name == m.Name() {
				panic(fmt.Sprintf("module: %s is registered twice", m.Name()))
			}
		}
		r.current = &entry{name: m.Name(), module: m}
		r.entries = append(r.entries, r.current)
		m.Register(r, core)
		r.current = nil
	}
}

func (r *Registry) cur() *entry {
	if r.current == nil {
		panic("module: declarations are made only inside Register")
	}
	return r.current
}

// Commands reserves command numbers for the module. Every command it handles must be in one.
func (r *Registry) Commands(ranges ...command.Range) {
	e := r.cur()
	for _, nr := range ranges {
		for _, o := range r.entries {
			for _, or := range o.ranges {
				if nr.First <= or.Last && or.First <= nr.Last {
					panic(fmt.Sprintf("module: %s's command range %s overlaps %s's %s", e.name, nr, o.name, or))
				}
			}
		}
		e.ranges = append(e.ranges, nr)
	}
}

// Handle registers the typed handler of one of the module's commands.
func Handle[T any](r *Registry, d command.Def[T], apply fsm.Apply[T]) {
	e := r.cur()
	in := false
	for _, rg := range e.ranges {
		in = in || rg.Contains(d.Type())
	}
	if !in {
		panic(fmt.Sprintf("module: %s handles %s (%d) outside its command ranges %v", e.name, d.Name(), d.Type(), e.ranges))
	}
	fsm.On(r.commands, d, apply)
	e.types = append(e.types, d.Type())
}

// Before registers a check on a command another module (or the core) owns, run inside apply
// before its handler: see fsm.Check.
func Before[T any](r *Registry, d command.Def[T], check fsm.Check[T]) {
	r.cur()
	fsm.Before(r.commands, d, check)
}

// Buckets declares the module's state buckets. New services name theirs "<module>/<name>".
func (r *Registry) Buckets(names ...[]byte) {
	e := r.cur()
	for _, b := range names {
		if owner, ok := r.buckets[string(b)]; ok {
			panic(fmt.Sprintf("module: bucket %q of %s is already %s's", b, e.name, owner))
		}
		r.buckets[string(b)] = e.name
		e.buckets = append(e.buckets, b)
	}
}

// Index declares a derived bucket of the module (an index over its records) and the function
// that builds it from the rest of the state. The bucket is one of the module's (Buckets); the
// state runs build whenever it creates the bucket: on a fresh state and on restoring a
// snapshot written before the index existed (see state.Index). build must be a pure function
// of the state that writes only this bucket, so every server builds the same index; from then
// on apply keeps it in step.
func (r *Registry) Index(bucket []byte, build func(tx *state.Tx) error) {
	e := r.cur()
	if build == nil {
		panic(fmt.Sprintf("module: index %q of %s has no builder", bucket, e.name))
	}
	r.Buckets(bucket)
	e.indexes = append(e.indexes, state.Index{Bucket: bucket, Build: build})
}

// Actions declares the policy action namespaces the module's routes use besides its own name,
// the names users already know from the service it stands in for ("codedeploy" for the deploy
// module, "iam" and "sts" for acl). A namespace belongs to one module. Declare them before
// Routes.
func (r *Registry) Actions(namespaces ...string) {
	e := r.cur()
	for _, ns := range namespaces {
		for _, o := range r.entries {
			if o.name == ns || slices.Contains(o.actions, ns) {
				panic(fmt.Sprintf("module: action namespace %q of %s is already %s's", ns, e.name, o.name))
			}
		}
		e.actions = append(e.actions, ns)
	}
}

// ShareActions declares action namespaces the module's routes use that an earlier module
// declared with Actions: a service that extends another one under the names users know ("review"
// adds pull requests to the git service's "codecommit"). A namespace no earlier module declared
// panics.
func (r *Registry) ShareActions(namespaces ...string) {
	e := r.cur()
	for _, ns := range namespaces {
		found := false
		for _, o := range r.entries {
			found = found || (o != e && slices.Contains(o.actions, ns))
		}
		if !found {
			panic(fmt.Sprintf("module: %s shares action namespace %q, which no earlier module declared", e.name, ns))
		}
		e.actions = append(e.actions, ns)
	}
}

// Routes declares the module's HTTP routes. Every route that takes a credential names an action
// of this module: "<module>:<Verb>" or "<namespace>:<Verb>" for a namespace it declared with
// Actions. A console page (api.Console) is the exception: it is authorized by the
// action of the API route that answers the same question, whichever module owns it.
func (r *Registry) Routes(routes ...api.Route) {
	e := r.cur()
	for _, rt := range routes {
		if err := rt.Check(); err != nil {
			panic("module: " + e.name + ": " + err.Error())
		}
		if ns, _, _ := strings.Cut(rt.Action, ":"); rt.Action != "" && rt.Access != api.Console && ns != e.name && !slices.Contains(e.actions, ns) {
			panic(fmt.Sprintf("module: %s declares action %s of another module", e.name, rt.Action))
		}
		e.routes = append(e.routes, rt)
	}
}

// Authorizer declares the module as the source of every caller's grants (api.Policies): the
// identity service. At most one module may; without one, the API maps service tokens onto the
// built-in policies (api.TokenTypePolicies).
func (r *Registry) Authorizer(p api.Policies) {
	e := r.cur()
	if r.policies != nil {
		panic(fmt.Sprintf("module: %s declares an authorizer, but one is already declared", e.name))
	}
	r.policies = p
}

// Policies returns the declared authorizer (nil: none).
func (r *Registry) Policies() api.Policies { return r.policies }

// Background declares work that runs on every server from start to shutdown.
func (r *Registry) Background(name string, run func(ctx context.Context)) {
	e := r.cur()
	e.background = append(e.background, Task{Name: e.name + "/" + name, Run: run})
}

// Leader declares work that runs on the leader only: started each time this server gains
// leadership, with a context that ends when it loses it (or shuts down).
func (r *Registry) Leader(name string, run func(ctx context.Context)) {
	e := r.cur()
	e.leader = append(e.leader, Task{Name: e.name + "/" + name, Run: run})
}

// AgentWork declares a kind of work the module sends agents (see session.Work). The server
// adds every module's to its agent hub before any session is served.
func (r *Registry) AgentWork(w session.Work) {
	e := r.cur()
	e.work = append(e.work, w)
}

// SecretEvents declares event kinds of the module's commands (the part of a command's name before
// the dot, "token" for token.create) that only management tokens may watch.
func (r *Registry) SecretEvents(kinds ...string) {
	e := r.cur()
	e.secretEvents = append(e.secretEvents, kinds...)
}

// AllSecretEvents is every event kind a module declared secret.
func (r *Registry) AllSecretEvents() []string {
	var out []string
	for _, e := range r.entries {
		out = append(out, e.secretEvents...)
	}
	return out
}

// RevisionNames declares how the hosts API names the keys of a host's current revisions
// (state.Host.Revisions), which the module writes under IDs of its own: the deployments service
// names a group ID "app/group". At most one module may declare it.
func (r *Registry) RevisionNames(fn func(tx *state.Tx) map[string]string) {
	e := r.cur()
	for _, o := range r.entries {
		if o.revisionNames != nil {
			panic(fmt.Sprintf("module: %s names host revisions, and so does %s", o.name, e.name))
		}
	}
	e.revisionNames = fn
}

// AllRevisionNames is the declared namer of host revisions, or nil.
func (r *Registry) AllRevisionNames() func(tx *state.Tx) map[string]string {
	for _, e := range r.entries {
		if e.revisionNames != nil {
			return e.revisionNames
		}
	}
	return nil
}

// Module returns the registered module named name, nil when there is none (for tests and
// diagnostics that reach a service's Go API on a running server).
func (r *Registry) Module(name string) Module {
	for _, e := range r.entries {
		if e.name == name {
			return e.module
		}
	}
	return nil
}

// Table is the command table: the core's commands and every module's.
func (r *Registry) Table() *fsm.Table { return r.commands }

// AllBuckets is every bucket the modules declared, in registration order, indexes included.
func (r *Registry) AllBuckets() [][]byte {
	var out [][]byte
	for _, e := range r.entries {
		out = append(out, e.buckets...)
	}
	return out
}

// AllIndexes is every derived bucket the modules declared (Index), in registration order.
func (r *Registry) AllIndexes() []state.Index {
	var out []state.Index
	for _, e := range r.entries {
		out = append(out, e.indexes...)
	}
	return out
}

// AllRoutes is every route the modules declared, in registration order.
func (r *Registry) AllRoutes() []api.Route {
	var out []api.Route
	for _, e := range r.entries {
		out = append(out, e.routes...)
	}
	return out
}

// AllAgentWork is every kind of agent work the modules declared, in registration order.
func (r *Registry) AllAgentWork() []session.Work {
	var out []session.Work
	for _, e := range r.entries {
		out = append(out, e.work...)
	}
	return out
}

// Lifecycle is the tasks of every module, to run with a Runner.
func (r *Registry) Lifecycle() (background, leader []Task) {
	for _, e := range r.entries {
		background = append(background, e.background...)
		leader = append(leader, e.leader...)
	}
	return background, leader
}

// Summary is one module's declarations (for tests and diagnostics).
type Summary struct {
	Name     string
	Ranges   []command.Range
	Commands []command.Type
	Buckets  []string
	Routes   int
}

// Modules summarises what each registered module declared.
func (r *Registry) Modules() []Summary {
	var out []Summary
	for _, e := range r.entries {
		s := Summary{Name: e.name, Ranges: e.ranges, Commands: e.types, Routes: len(e.routes)}
		for _, b := range e.buckets {
			s.Buckets = append(s.Buckets, string(b))
		}
		out = append(out, s)
	}
	return out
}
