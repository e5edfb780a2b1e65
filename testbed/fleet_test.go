//go:build testbed

package testbed

// Fleet helpers for the rollout scenarios: an application whose revisions record every
// lifecycle hook they run in a log on the agent host, a deployment group of all the bed's agents,
// a watcher that samples a deployment while it runs, and the checks the scenarios share.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/pkg/bundle"
)

// Paths on the agent hosts.
const (
	// hookLog is where the hook script appends "<deployment> <event> <host> begin|end".
	hookLog = "/var/tmp/hooks.log"
	// installDir is where the revision's files are installed; version.txt names the revision.
	installDir  = "/var/tmp/fleet-app"
	versionFile = installDir + "/version.txt"
	// slowPrefix+EVENT, when it exists, holds the seconds the hook of EVENT sleeps on that host
	// instead of the revision's default: one host's hook can be made long.
	slowPrefix = "/var/tmp/slow-"
	// agentOutbox is the agent's durable outbox: <deployment>.jsonl until every report of the
	// deployment is acknowledged (see agent/session/outbox.go).
	agentOutbox = "/data/agent/outbox"
)

// scriptEvents are the lifecycle events the fleet's appspec runs the hook script for.
var scriptEvents = []string{"ApplicationStop", "BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService"}

// firstInstall is the hooks a host runs, once each, on its first deployment of a group: no
// ApplicationStop, since that runs the scripts of the previous revision and there is none.
var firstInstall = map[string]int{"BeforeInstall": 1, "AfterInstall": 1, "ApplicationStart": 1, "ValidateService": 1}

// Deployment target statuses (see api.DeploymentTarget).
const (
	tgWaiting    = "waiting"
	tgPending    = "pending"
	tgInProgress = "in_progress"
	tgSucceeded  = "succeeded" // also a lifecycle record's status
	tgFailed     = "failed"
)

// agentsConfig is a server configuration with the given agent heartbeat and host timeout.
func agentsConfig(heartbeat, hostTimeout time.Duration) string {
	return fmt.Sprintf("agents:\n  heartbeat: %s\n  host_timeout: %s\n", heartbeat, hostTimeout)
}

// hookScript logs the event's start, sleeps, and logs its end; ValidateService also checks that
// the installed files are this revision's. It is plain sh for busybox ash.
const hookScript = `#!/bin/sh
log=%[1]s
echo "$DEPLOYMENT_ID $LIFECYCLE_EVENT $SLIPWAY_HOST_NAME begin" >> "$log"
secs=%[2]s
if [ -f "%[3]s$LIFECYCLE_EVENT" ]; then secs=$(cat "%[3]s$LIFECYCLE_EVENT"); fi
echo "$LIFECYCLE_EVENT on $SLIPWAY_HOST_NAME: sleeping $secs s"
sleep "$secs"
if [ "$LIFECYCLE_EVENT" = ValidateService ] && [ "$(cat %[4]s)" != "%[5]s" ]; then
  echo "installed version is $(cat %[4]s 2>&1), want %[5]s" >&2
  exit 1
fi
echo "$DEPLOYMENT_ID $LIFECYCLE_EVENT $SLIPWAY_HOST_NAME end" >> "$log"
`

// hookBundle builds a deterministic tar.gz revision: site/version.txt (installed to installDir)
// holds version, and every event of scriptEvents runs the hook script, which sleeps sleep.
func hookBundle(t testing.TB, version string, sleep time.Duration) []byte {
	t.Helper()
	dir := t.TempDir()
	var spec strings.Builder
	fmt.Fprintf(&spec, "version: 0.0\nos: linux\nfile_exists_behavior: OVERWRITE\n")
	fmt.Fprintf(&spec, "files:\n  - source: site\n    destination: %s\n", installDir)
	spec.WriteString("hooks:\n")
	for _, ev := range scriptEvents {
		fmt.Fprintf(&spec, "  %s:\n    - location: scripts/hook.sh\n      timeout: 120\n", ev)
	}
	files := map[string]struct {
		data string
		mode os.FileMode
	}{
		"appspec.yml":      {spec.String(), 0o644},
		"site/version.txt": {version + "\n", 0o644},
		"scripts/hook.sh": {fmt.Sprintf(hookScript, hookLog, fmt.Sprintf("%.1f", sleep.Seconds()), slowPrefix,
			versionFile, version), 0o755},
	}
	for name, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.data), f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil { // the umask may have cut the execute bits
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := bundle.Create(&buf, dir); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fleet is an application deployed to a group holding every agent of a bed.
type fleet struct {
	t       *testing.T
	b       *bed
	app     string
	group   string
	readers map[int]*api.Client // per server, no retries: for polling through whichever answers
	// via is the server that pushes, deployments and the checks go through (0 unless a
	// scenario has stopped it).
	via     int
	created []createdApp // apps the scenario created itself, verified with the writers'
}

type createdApp struct {
	app    api.App
	server int
}

// revision is a pushed revision and its bundle.
type revision struct {
	*api.Revision
	data    []byte
	version string
}

// newFleet creates the application and a group of every agent (they all carry the tag
// bed=testbed) with the deployment configuration config, through server 0.
func newFleet(b *bed, config string) *fleet {
	b.t.Helper()
	f := &fleet{t: b.t, b: b, app: "fleet-web", group: "fleet", readers: map[int]*api.Client{}}
	for i := range b.servers {
		f.readers[i] = b.ClientWith(i, -1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := b.Client(0)
	a, err := cl.AppCreate(ctx, api.AppCreateRequest{Name: f.app})
	if err != nil {
		b.t.Fatalf("app create: %v", err)
	}
	f.created = append(f.created, createdApp{*a, 0})
	g, err := cl.GroupCreate(ctx, f.app, api.GroupRequest{Name: f.group, Tags: map[string]string{"bed": "testbed"}, Config: config})
	if err != nil {
		b.t.Fatalf("group create: %v", err)
	}
	if len(g.Members) != len(b.agents) {
		b.t.Fatalf("group %s has %d members, want the %d agents: %+v", f.group, len(g.Members), len(b.agents), g.Members)
	}
	return f
}

// push builds a revision whose hooks sleep sleep each and pushes it through f.via.
func (f *fleet) push(version string, sleep time.Duration) *revision {
	f.t.Helper()
	data := hookBundle(f.t, version, sleep)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rev, _, err := f.b.Client(f.via).RevisionPush(ctx, f.app, bytes.NewReader(data), int64(len(data)), sha256Hex(data), version)
	if err != nil {
		f.t.Fatalf("revision push: %v", err)
	}
	if rev.SHA256 != sha256Hex(data) || rev.Size != int64(len(data)) {
		f.t.Fatalf("revision %s: sha256 %s size %d, pushed %s size %d", rev.ID, rev.SHA256, rev.Size, sha256Hex(data), len(data))
	}
	return &revision{Revision: rev, data: data, version: version}
}

// deploy starts a deployment of rev to the group through f.via.
func (f *fleet) deploy(rev *revision) *api.Deployment {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := f.b.Client(f.via).DeploymentCreate(ctx, api.DeploymentCreateRequest{App: f.app, Revision: rev.ID, Group: f.group})
	if err != nil {
		f.t.Fatalf("deployment create: %v", err)
	}
	if d.Status != api.DeploymentInProgress {
		f.t.Fatalf("deployment %s was created %s: %s", d.ID, d.Status, d.Message)
	}
	return d
}

// createMarker creates an app through server i (with the client's retries) and records it for
// verify; its create index tells when another server has caught up.
func (f *fleet) createMarker(name string, i int) api.App {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := f.b.Client(i).AppCreate(ctx, api.AppCreateRequest{Name: name})
	if err != nil {
		f.t.Fatalf("create %s through %s: %v", name, f.b.servers[i].id, err)
	}
	f.created = append(f.created, createdApp{*a, i})
	return *a
}

// track adds the apps the scenario created itself to a writers' tally, as acknowledged creates.
func (f *fleet) track(tl tally) {
	for _, c := range f.created {
		tl.attempted[c.app.Name] = true
		tl.acked[c.app.Name] = op{name: c.app.Name, server: c.server, outcome: acked, index: c.app.CreateIndex}
	}
}

// get reads a deployment through the first server of among that answers, consistently (through
// the leader) or from that server's own state.
func (f *fleet) get(id string, among []int, consistent bool) (*api.Deployment, error) {
	var errs []string
	for _, i := range among {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		d, err := f.readers[i].DeploymentGet(ctx, id, &api.QueryOptions{Consistent: consistent})
		cancel()
		if err == nil {
			return d, nil
		}
		errs = append(errs, f.b.servers[i].id+": "+err.Error())
	}
	return nil, fmt.Errorf("no server answered: %s", strings.Join(errs, "; "))
}

// waitEnd waits until the deployment has ended, read consistently through among, and returns it.
func (f *fleet) waitEnd(id string, among []int, timeout time.Duration) *api.Deployment {
	f.t.Helper()
	var d *api.Deployment
	eventually(f.t, timeout, "deployment "+id+" ends", func() error {
		got, err := f.get(id, among, true)
		if err != nil {
			return err
		}
		d = got
		if d.EndTime == nil {
			return fmt.Errorf("it is %s: %s", d.Status, targetSummary(d))
		}
		return nil
	})
	return d
}

// targetSummary lists each host's status, e.g. "a0=succeeded a1=in_progress".
func targetSummary(d *api.Deployment) string {
	var parts []string
	for _, tg := range d.Targets {
		parts = append(parts, tg.Host+"="+tg.Status)
	}
	return strings.Join(parts, " ")
}

func countTargets(d *api.Deployment, status string) int {
	n := 0
	for _, tg := range d.Targets {
		if tg.Status == status {
			n++
		}
	}
	return n
}

func target(d *api.Deployment, host string) *api.DeploymentTarget {
	for i := range d.Targets {
		if d.Targets[i].Host == host {
			return &d.Targets[i]
		}
	}
	return nil
}

// hosts returns the agents' host names.
func (f *fleet) hosts() []string {
	var out []string
	for _, a := range f.b.agents {
		out = append(out, a.role)
	}
	return out
}

// ---------------------------------------------------------------------------------------------
// Watching a deployment

// sample is a deployment as one consistent read returned it.
type sample struct {
	at time.Time
	d  api.Deployment
}

// rolloutWatch reads a deployment about five times a second through whichever server answers
// and keeps every distinct committed state it saw (by modify index).
type rolloutWatch struct {
	f    *fleet
	id   string
	stop chan struct{}
	done chan struct{}
	once sync.Once

	mu      sync.Mutex
	samples []sample
}

func (f *fleet) watch(id string) *rolloutWatch {
	w := &rolloutWatch{f: f, id: id, stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	f.t.Cleanup(w.Stop)
	return w
}

func (w *rolloutWatch) run() {
	defer close(w.done)
	next := 0
	n := len(w.f.b.servers)
	for {
		d, err := w.f.get(w.id, []int{next % n}, true)
		if err != nil {
			next++ // that server is down or has no leader: try the next one
		} else {
			w.mu.Lock()
			if len(w.samples) == 0 || w.samples[len(w.samples)-1].d.ModifyIndex != d.ModifyIndex {
				w.samples = append(w.samples, sample{at: time.Now(), d: *d})
			}
			w.mu.Unlock()
		}
		select {
		case <-w.stop:
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop stops watching and waits for the last read.
func (w *rolloutWatch) Stop() {
	w.once.Do(func() { close(w.stop) })
	<-w.done
}

// Samples returns the states seen so far, oldest first.
func (w *rolloutWatch) Samples() []sample {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]sample(nil), w.samples...)
}

// latest returns the newest state seen, or an error when none was read yet.
func (w *rolloutWatch) latest() (*api.Deployment, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.samples) == 0 {
		return nil, fmt.Errorf("deployment %s not read yet", w.id)
	}
	d := w.samples[len(w.samples)-1].d
	return &d, nil
}

// lastIndexBefore returns the highest modify index seen before t.
func (w *rolloutWatch) lastIndexBefore(t time.Time) uint64 {
	var idx uint64
	for _, s := range w.Samples() {
		if s.at.Before(t) && s.d.ModifyIndex > idx {
			idx = s.d.ModifyIndex
		}
	}
	return idx
}

// progressAfter returns how long after t the deployment was first seen changed past index idx
// (a report or decision committed after the fault), or false if it never was.
func (w *rolloutWatch) progressAfter(t time.Time, idx uint64) (time.Duration, bool) {
	for _, s := range w.Samples() {
		if s.at.After(t) && s.d.ModifyIndex > idx {
			return s.at.Sub(t), true
		}
	}
	return 0, false
}

// checkMinHealthy checks every in-progress state the watch saw against the deployment's
// minimum of healthy hosts: hosts not yet started (healthy at start, so not in unhealthy) plus
// hosts that succeeded must be at least MinHealthy; with OneAtATime at most one host runs. It
// returns the number of in-progress states checked.
func checkMinHealthy(t *testing.T, samples []sample, unhealthy map[string]bool) int {
	t.Helper()
	checked, reported := 0, 0
	for _, s := range samples {
		d := s.d
		if d.EndTime != nil || d.Status != api.DeploymentInProgress {
			continue
		}
		checked++
		inService, inFlight := 0, 0
		for _, tg := range d.Targets {
			switch tg.Status {
			case tgWaiting:
				if !unhealthy[tg.Host] {
					inService++
				}
			case tgSucceeded:
				inService++
			case tgPending, tgInProgress:
				inFlight++
			}
		}
		bad := ""
		if inService < d.MinHealthy {
			bad = fmt.Sprintf("%d hosts in service, below the minimum of %d", inService, d.MinHealthy)
		}
		if d.Config == "OneAtATime" && inFlight > 1 {
			bad = fmt.Sprintf("%d hosts in flight under OneAtATime", inFlight)
		}
		if bad != "" {
			if reported++; reported <= 5 {
				t.Errorf("deployment %s at index %d (%s): %s: %s", d.ID, d.ModifyIndex, d.Config, bad, targetSummary(&d))
			}
		}
	}
	return checked
}

// ---------------------------------------------------------------------------------------------
// Checks

// checkRecordsOnce checks the deployment's lifecycle records: no host has any event, or any
// script's result, recorded twice (a report applied twice would add a second one), and every
// host that succeeded has one succeeded script result for each event of want.
func checkRecordsOnce(t *testing.T, d *api.Deployment, want map[string]int) {
	t.Helper()
	for _, tg := range d.Targets {
		seen := map[string]int{}
		for _, e := range tg.Events {
			k := e.Name + " " + e.Script
			if seen[k]++; seen[k] == 2 {
				t.Errorf("deployment %s, host %s: %s (script %q) recorded twice: %+v", d.ID, tg.Host, e.Name, e.Script, tg.Events)
			}
		}
		if tg.Status != tgSucceeded {
			continue
		}
		for ev := range want {
			n := 0
			for _, e := range tg.Events {
				if e.Name == ev && e.Script != "" {
					n++
					if e.Status != tgSucceeded {
						t.Errorf("deployment %s, host %s: script of %s recorded %s: %s", d.ID, tg.Host, ev, e.Status, e.Message)
					}
				}
			}
			if n != 1 {
				t.Errorf("deployment %s, host %s succeeded with %d script results for %s, want 1", d.ID, tg.Host, n, ev)
			}
		}
	}
}

// hookCount is how many times a host logged an event's start and end.
type hookCount struct{ begin, end int }

// hookRuns reads every agent's hook log and counts, per host and event, the lines of deployment
// dep. A line naming another host than the agent's own is an error.
func hookRuns(t *testing.T, agents []*container, dep string) map[string]map[string]hookCount {
	t.Helper()
	out := map[string]map[string]hookCount{}
	for _, a := range agents {
		text, err := a.Exec("sh", "-c", "cat "+hookLog+" 2>/dev/null || true")
		if err != nil {
			t.Fatalf("%s: read %s: %v: %s", a.role, hookLog, err, text)
		}
		runs := map[string]hookCount{}
		for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
			f := strings.Fields(line)
			if len(f) != 4 || f[0] != dep {
				continue
			}
			if f[2] != a.role {
				t.Errorf("%s: hook log line names host %q: %q", a.role, f[2], line)
			}
			c := runs[f[1]]
			switch f[3] {
			case "begin":
				c.begin++
			case "end":
				c.end++
			}
			runs[f[1]] = c
		}
		out[a.role] = runs
	}
	return out
}

// checkHookRuns checks that on each of hosts every event ran (began and ended) exactly as many
// times as want says, and that no other event ran.
func checkHookRuns(t *testing.T, runs map[string]map[string]hookCount, dep string, hosts []string, want map[string]int) {
	t.Helper()
	for _, h := range hosts {
		got := runs[h]
		for _, ev := range scriptEvents {
			c, n := got[ev], want[ev]
			if c.begin != n || c.end != n {
				t.Errorf("deployment %s, host %s: %s began %d and ended %d times, want %d", dep, h, ev, c.begin, c.end, n)
			}
		}
	}
}

// checkInstalled checks that each named agent has version's files installed.
func checkInstalled(t *testing.T, agents []*container, hosts []string, version string) {
	t.Helper()
	want := map[string]bool{}
	for _, h := range hosts {
		want[h] = true
	}
	for _, a := range agents {
		if !want[a.role] {
			continue
		}
		out, err := a.Exec("cat", versionFile)
		if err != nil || strings.TrimSpace(out) != version {
			t.Errorf("%s: %s holds %q (%v), want %q", a.role, versionFile, strings.TrimSpace(out), err, version)
		}
	}
}

// checkHostRevisions checks, with consistent reads, that each named host's current revision in
// the group is rev.
func (f *fleet) checkHostRevisions(hosts []string, rev string) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := f.b.Client(f.via)
	for _, h := range hosts {
		host, err := cl.HostGet(ctx, h, &api.QueryOptions{Consistent: true})
		if err != nil {
			f.t.Errorf("host %s: %v", h, err)
			continue
		}
		if got := host.Revisions[f.app+"/"+f.group]; got != rev {
			f.t.Errorf("host %s: current revision of %s/%s is %q, want %s", h, f.app, f.group, got, rev)
		}
	}
}

// checkDeploymentCount checks that the app has exactly n deployments: a retried create applied
// twice would add one.
// checkFirstRolloutSucceeded checks the outcome of the group's first (and only) deployment, to
// every agent: it ended Succeeded on every host, every committed state watched kept the minimum
// of healthy hosts, every hook ran exactly once per host (on the host, and in the record), the
// revision's files are installed and recorded on every host, and no deployment was created
// twice. It returns how many committed states were checked.
func (f *fleet) checkFirstRolloutSucceeded(final *api.Deployment, mon *rolloutWatch, rev *revision) int {
	t, b := f.t, f.b
	t.Helper()
	if final.Status != api.DeploymentSucceeded || countTargets(final, tgSucceeded) != len(b.agents) {
		t.Errorf("deployment %s ended %s (%s): %s", final.ID, final.Status, final.Message, targetSummary(final))
	}
	checked := checkMinHealthy(t, mon.Samples(), nil)
	checkRecordsOnce(t, final, firstInstall)
	checkHookRuns(t, hookRuns(t, b.agents, final.ID), final.ID, f.hosts(), firstInstall)
	checkInstalled(t, b.agents, f.hosts(), rev.version)
	f.checkHostRevisions(f.hosts(), rev.ID)
	f.checkDeploymentCount(1)
	return checked
}

func (f *fleet) checkDeploymentCount(n int) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := f.b.Client(f.via).DeploymentList(ctx, f.app)
	if err != nil {
		f.t.Fatalf("deployment list: %v", err)
	}
	if len(l.Deployments) != n {
		var ids []string
		for _, d := range l.Deployments {
			ids = append(ids, d.ID+"="+d.Status)
		}
		f.t.Errorf("app %s has %d deployments %v, want %d", f.app, len(l.Deployments), ids, n)
	}
}

// checkDownload downloads rev through server i and compares its bytes with what was pushed.
func (f *fleet) checkDownload(rev *revision, i int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dl, err := f.b.Client(i).RevisionDownload(ctx, rev.ID, 0)
	if err != nil {
		return err
	}
	defer func() { _ = dl.Body.Close() }()
	data, err := io.ReadAll(dl.Body)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	want := sha256Hex(rev.data)
	if got := sha256Hex(data); got != want || int64(len(data)) != int64(len(rev.data)) {
		return fmt.Errorf("downloaded %d bytes with sha256 %s, pushed %d bytes with sha256 %s", len(data), got, len(rev.data), want)
	}
	if dl.SHA256 != want || dl.Size != int64(len(rev.data)) {
		return fmt.Errorf("download headers say sha256 %s size %d, want %s size %d", dl.SHA256, dl.Size, want, len(rev.data))
	}
	return nil
}

// sameOutcome describes how two reads of a finished deployment differ in what they record
// (status, message, end time, each host's status, message and lifecycle records), or "".
func sameOutcome(a, b *api.Deployment) string {
	var diffs []string
	if a.Status != b.Status || a.Message != b.Message {
		diffs = append(diffs, fmt.Sprintf("status %s (%q) became %s (%q)", a.Status, a.Message, b.Status, b.Message))
	}
	if (a.EndTime == nil) != (b.EndTime == nil) || (a.EndTime != nil && !a.EndTime.Equal(*b.EndTime)) {
		diffs = append(diffs, fmt.Sprintf("end time %v became %v", a.EndTime, b.EndTime))
	}
	hosts := map[string]bool{}
	for _, tg := range a.Targets {
		hosts[tg.Host] = true
	}
	for _, tg := range b.Targets {
		hosts[tg.Host] = true
	}
	names := make([]string, 0, len(hosts))
	for h := range hosts {
		names = append(names, h)
	}
	sort.Strings(names)
	for _, h := range names {
		ta, tb := target(a, h), target(b, h)
		switch {
		case ta == nil || tb == nil:
			diffs = append(diffs, "host "+h+" appeared or disappeared")
		case ta.Status != tb.Status || ta.Message != tb.Message:
			diffs = append(diffs, fmt.Sprintf("host %s: %s (%q) became %s (%q)", h, ta.Status, ta.Message, tb.Status, tb.Message))
		case eventsString(ta.Events) != eventsString(tb.Events):
			diffs = append(diffs, fmt.Sprintf("host %s: lifecycle records [%s] became [%s]", h, eventsString(ta.Events), eventsString(tb.Events)))
		}
	}
	return strings.Join(diffs, "; ")
}

// eventsString formats lifecycle records by value, for comparing and printing.
func eventsString(evs []api.LifecycleEvent) string {
	ts := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	var parts []string
	for _, e := range evs {
		parts = append(parts, fmt.Sprintf("%s/%s %s %s exit=%d %q %s..%s", e.Name, e.Script, e.Status, e.Result, e.ExitCode, e.Message, ts(e.Start), ts(e.End)))
	}
	return strings.Join(parts, ", ")
}

// inHook returns, for deployment dep, the hosts that are inside a hook now (an event began and
// has not ended) and the number of hook log lines of dep on all hosts.
func inHook(t *testing.T, agents []*container, dep string) (hosts []string, lines int) {
	t.Helper()
	for h, evs := range hookRuns(t, agents, dep) {
		for ev, c := range evs {
			lines += c.begin + c.end
			if c.begin > c.end {
				hosts = append(hosts, h+":"+ev)
			}
		}
	}
	sort.Strings(hosts)
	return hosts, lines
}

// outboxHolds reports whether the agent still keeps reports of deployment dep that the cluster
// has not acknowledged (or that are unacknowledged because the deployment has not ended there).
func outboxHolds(t *testing.T, a *container, dep string) bool {
	t.Helper()
	out, err := a.Exec("sh", "-c", "if [ -e "+agentOutbox+"/"+dep+".jsonl ]; then echo yes; else echo no; fi")
	if err != nil {
		t.Fatalf("%s: look at the outbox: %v: %s", a.role, err, out)
	}
	return strings.TrimSpace(out) == "yes"
}

// timeline describes when each host's part ran, relative to the deployment's creation, with
// any lifecycle event that took over 5 s, e.g. "a0 0.4s-7.9s a1 8.0s-35.2s (DownloadBundle
// 20.1s)", from the lifecycle records' times.
func timeline(d *api.Deployment) string {
	var parts []string
	for _, tg := range d.Targets {
		var first, last *time.Time
		for _, e := range tg.Events {
			for _, ts := range []*time.Time{e.Start, e.End} {
				if ts == nil {
					continue
				}
				if first == nil || ts.Before(*first) {
					first = ts
				}
				if last == nil || ts.After(*last) {
					last = ts
				}
			}
		}
		if first == nil {
			parts = append(parts, tg.Host+" -")
			continue
		}
		slow := ""
		for _, e := range tg.Events {
			if e.Script == "" && e.Start != nil && e.End != nil && e.End.Sub(*e.Start) > 5*time.Second {
				slow += fmt.Sprintf(" %s %.1fs", e.Name, e.End.Sub(*e.Start).Seconds())
			}
		}
		if slow != "" {
			slow = " (" + strings.TrimSpace(slow) + ")"
		}
		parts = append(parts, fmt.Sprintf("%s %.1fs-%.1fs%s", tg.Host, first.Sub(d.CreateTime).Seconds(), last.Sub(d.CreateTime).Seconds(), slow))
	}
	return strings.Join(parts, " ")
}

// agentSessions returns the hosts whose agent session was open on server s when its log ends,
// from its "agent connected" and "agent disconnected" lines.
func agentSessions(s *server) []string {
	open := map[string]bool{}
	for _, line := range strings.Split(s.Logs(), "\n") {
		var connected bool
		switch {
		case strings.Contains(line, `msg="agent connected"`):
			connected = true
		case strings.Contains(line, `msg="agent disconnected"`):
		default:
			continue
		}
		i := strings.Index(line, " host=")
		if i < 0 {
			continue
		}
		host := strings.Fields(line[i+len(" host="):])[0]
		open[host] = connected
	}
	var out []string
	for h, ok := range open {
		if ok {
			out = append(out, h)
		}
	}
	sort.Strings(out)
	return out
}
