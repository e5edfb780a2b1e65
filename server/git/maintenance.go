package git

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/git/gitexec"
)

// Defaults of the background maintenance of bare copies (Module settings).
const (
	// DefaultMaintenancePacks: a copy with more packs than this is repacked. Every push adds
	// one pack to every copy, and a read looks through every pack's index.
	DefaultMaintenancePacks = 50
	// DefaultMaintenanceLoose: a copy with about this many loose objects is repacked (git gc
	// --auto's estimate: the objects in objects/17, times 256).
	DefaultMaintenanceLoose = 6700
	// DefaultMaintenanceInterval is the least time between two maintenances of one copy.
	DefaultMaintenanceInterval = 10 * time.Minute
	// DefaultFullRepackInterval is the least time between two full repacks of one copy (the
	// one that drops unreachable objects older than PruneExpiry).
	DefaultFullRepackInterval = 24 * time.Hour
	// PruneExpiry is how old an unreachable object must be before maintenance drops it: never
	// "now", so the objects of a push in flight (in a receive-pack quarantine, or indexed before
	// the ref update that names them is applied) are never removed.
	PruneExpiry = "2.weeks.ago"
)

// maintenanceCheck is how often the maintenance loop looks at the copies when no pass pokes it.
const maintenanceCheck = time.Minute

// Git versions of the repack modes maintenance uses.
var (
	versionGeometric  = gitexec.Version{Major: 2, Minor: 32} // repack --geometric
	versionCruft      = gitexec.Version{Major: 2, Minor: 37} // repack --cruft
	versionMidxBitmap = gitexec.Version{Major: 2, Minor: 34} // repack --write-midx -b (a multi-pack bitmap)
)

// MaintenanceResult is what one maintenance of a copy did.
type MaintenanceResult struct {
	PacksBefore int           `json:"packs_before"`
	PacksAfter  int           `json:"packs_after"`
	Full        bool          `json:"full"` // a full repack (unreachable objects past PruneExpiry dropped)
	Duration    time.Duration `json:"duration"`
}

// maintenance is the replica's bookkeeping of maintenance: one runs at a time on a server.
type maintenance struct {
	run  sync.Mutex // held by the one maintenance running
	mu   sync.Mutex
	last map[string]time.Time // repo ID → end of its last maintenance
	full map[string]time.Time // repo ID → end of its last full repack
	kick chan struct{}
}

func newMaintenance() *maintenance {
	return &maintenance{last: map[string]time.Time{}, full: map[string]time.Time{}, kick: make(chan struct{}, 1)}
}

// refsLock returns the lock that orders ref writes of one copy: the pass's update-ref and
// maintenance's pack-refs.
func (p *Replica) refsLock(id string) *sync.Mutex {
	l, _ := p.refLocks.LoadOrStore(id, &sync.Mutex{})
	return l.(*sync.Mutex)
}

// maintain is the background task that keeps copies cheap to read: after passes (poked) and
// every maintenanceCheck it maintains, one at a time, each copy over its bounds (packs or loose
// objects) whose last maintenance is at least MaintenanceInterval old.
func (p *Replica) maintain(ctx context.Context) {
	if p.m.MaintenancePacks <= 0 {
		return // disabled
	}
	log := p.m.core.Log.With("component", "git-maintenance")
	tick := time.NewTicker(maintenanceCheck)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-p.maint.kick:
		}
		if p.Git() == nil {
			continue
		}
		for _, id := range p.due() {
			if ctx.Err() != nil {
				return
			}
			res, err := p.Maintain(ctx, id)
			switch {
			case err != nil && ctx.Err() == nil && !errors.Is(err, os.ErrNotExist):
				log.Warn("maintain the copy of a repository", "id", id, "err", err)
			case err == nil:
				log.Info("maintained the copy of a repository", "id", id, "packs_before", res.PacksBefore,
					"packs_after", res.PacksAfter, "full", res.Full, "duration", res.Duration)
			}
		}
	}
}

// pokeMaintenance asks the maintenance loop to look at the copies (after a pass).
func (p *Replica) pokeMaintenance() {
	select {
	case p.maint.kick <- struct{}{}:
	default:
	}
}

// due lists the copies over their bounds whose last maintenance is old enough, in ID order.
func (p *Replica) due() []string {
	entries, err := os.ReadDir(p.reposDir())
	if err != nil {
		return nil
	}
	now := time.Now()
	var out []string
	for _, e := range entries {
		id := e.Name()
		p.maint.mu.Lock()
		last := p.maint.last[id]
		p.maint.mu.Unlock()
		if !e.IsDir() || now.Sub(last) < p.m.MaintenanceInterval {
			continue
		}
		dir := p.Dir(id)
		if countPacks(dir) > p.m.MaintenancePacks || looseEstimate(dir) >= p.m.MaintenanceLoose {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// Maintain repacks this server's copy of repository id now, waiting for a maintenance already
// running on the server to end first. It never blocks reads or the replica's passes:
//
//   - `git repack -d --geometric=2` (git ≥ 2.32) rolls the small packs (one per push) and the
//     loose objects into fewer packs, keeping every object it finds, reachable or not; packs
//     with a .keep file (receive-pack's pack of a push in flight) are left alone. From git 2.34
//     with `--write-midx -b`: a multi-pack index with a bitmap over the packs left.
//   - At most every FullRepackInterval, `git repack -a -d -b --cruft
//     --cruft-expiration=PruneExpiry` (git ≥ 2.37) instead: reachable objects in one pack,
//     unreachable ones in a cruft pack, dropped only once older than PruneExpiry (objects of
//     a refused push, history a force push left behind). Older git: `repack -a -d -A` (they are
//     loosened, not dropped) and `git prune --expire=PruneExpiry`.
//   - `git pack-refs --all --prune` under the copy's refs lock, which the pass's update-ref also
//     takes.
//
// Readers see packs appear before the ones they replace go (git's own guarantee). The replica's
// bookkeeping is the count in slipway-packs, which repack leaves alone, so no pack record is
// indexed again after a repack.
func (p *Replica) Maintain(ctx context.Context, id string) (MaintenanceResult, error) {
	g := p.Git()
	if g == nil {
		return MaintenanceResult{}, fault.New(fault.Unavailable, "this server cannot serve git repositories, so it keeps no copies to maintain")
	}
	p.maint.run.Lock()
	defer p.maint.run.Unlock()
	dir := p.Dir(id)
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil {
		return MaintenanceResult{}, fmt.Errorf("no copy of repository %s on this server: %w", id, err)
	}
	start := time.Now()
	res := MaintenanceResult{PacksBefore: countPacks(dir)}
	p.maint.mu.Lock()
	res.Full = start.Sub(p.maint.full[id]) >= p.m.FullRepackInterval || g.Version().Less(versionGeometric)
	p.maint.mu.Unlock()
	// One pack thread: the server's cores serve reads and pushes first.
	// Each writes a bitmap index (-b): without one, a clone's pack-objects walks every commit
	// and tree, which made a clone of a copy built from pushed packs cost about 30 % more CPU
	// than git's own server of the same repository (docs/BENCHMARKS.md).
	args := []string{"-c", "pack.threads=1", "repack", "-d", "-q", "--geometric=2"}
	switch v := g.Version(); {
	case res.Full && !v.Less(versionCruft):
		args = []string{"-c", "pack.threads=1", "repack", "-a", "-d", "-q", "-b", "--cruft", "--cruft-expiration=" + PruneExpiry}
	case res.Full:
		args = []string{"-c", "pack.threads=1", "repack", "-a", "-d", "-q", "-b", "-A"}
	case !v.Less(versionMidxBitmap):
		args = append(args, "--write-midx", "-b")
	}
	if err := g.Run(ctx, gitexec.Command{Args: args, GitDir: dir}); err != nil {
		return res, err
	}
	if res.Full && g.Version().Less(versionCruft) {
		if err := g.Run(ctx, gitexec.Command{Args: []string{"prune", "--expire=" + PruneExpiry}, GitDir: dir}); err != nil {
			return res, err
		}
	}
	l := p.refsLock(id)
	l.Lock()
	err := g.Run(ctx, gitexec.Command{Args: []string{"pack-refs", "--all", "--prune"}, GitDir: dir})
	l.Unlock()
	if err != nil {
		return res, err
	}
	end := time.Now()
	res.PacksAfter, res.Duration = countPacks(dir), end.Sub(start)
	p.maint.mu.Lock()
	p.maint.last[id] = end
	if res.Full {
		p.maint.full[id] = end
	}
	p.maint.mu.Unlock()
	return res, nil
}

// countPacks is how many packs a copy has (objects/pack/*.pack).
func countPacks(dir string) int {
	entries, err := os.ReadDir(filepath.Join(dir, "objects", "pack"))
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".pack") {
			n++
		}
	}
	return n
}

// looseEstimate estimates a copy's loose objects as git gc --auto does: those in objects/17,
// times 256.
func looseEstimate(dir string) int {
	entries, err := os.ReadDir(filepath.Join(dir, "objects", "17"))
	if err != nil {
		return 0
	}
	return len(entries) * 256
}

// maintenanceRoutes: POST /v1/repos/{name}/maintenance runs Maintain on the answering server's
// copy now (codecommit:MaintainRepository, a management action) and answers what it did.
func (m *Module) maintenanceRoutes() []api.Route {
	return []api.Route{
		{Method: "POST", Pattern: "/v1/repos/{name}/maintenance", Access: api.Management, Action: "codecommit:MaintainRepository", Resource: "repo/{name}", Handle: m.maintainNow},
	}
}

// maintainNow resolves the repository as a read does (its copy caught up), then maintains the
// copy, bounded by the request; it is recorded in the audit trail with what it did.
func (m *Module) maintainNow(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	res, err := m.runMaintenance(r)
	if c := command.CallerFrom(r.Context()); c != nil {
		rec := audit.Record{
			Time:      m.core.Now().UTC(),
			Principal: audit.Principal{Kind: audit.Kind(c.Kind), ID: c.ID, Name: c.Name},
			Action:    c.Action, Resource: c.Resource, Source: c.Source, RequestID: c.RequestID,
			Outcome: audit.OutcomeAllowed,
			Detail:  fmt.Sprintf("packs %d → %d, full %t, %v", res.PacksBefore, res.PacksAfter, res.Full, res.Duration.Round(time.Millisecond)),
		}
		if err != nil {
			rec.Outcome, rec.ErrorCode, rec.Detail = audit.OutcomeFailed, string(fault.CodeOf(err)), ""
		}
		m.core.HTTP.Audit(rec)
	}
	if err != nil {
		return err
	}
	m.core.HTTP.JSON(w, http.StatusOK, pub.RepositoryMaintenance{
		PacksBefore: res.PacksBefore, PacksAfter: res.PacksAfter, Full: res.Full, DurationMS: res.Duration.Milliseconds(),
	})
	return nil
}

func (m *Module) runMaintenance(r *http.Request) (MaintenanceResult, error) {
	if m.gitErr != nil {
		return MaintenanceResult{}, fault.New(fault.Unavailable, "this server cannot serve git: %v", m.gitErr)
	}
	wait, cancel := m.core.HTTP.ReadContext(r)
	defer cancel()
	repo, err := m.Backend().Repo(wait, r.PathValue("name"))
	if err != nil {
		return MaintenanceResult{}, err
	}
	res, err := m.replica.Maintain(r.Context(), repo.ID)
	if err != nil {
		return res, fault.New(fault.Internal, "maintain repository %s: %v", repo.Name, err)
	}
	return res, nil
}
