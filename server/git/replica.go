package git

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git/gitexec"
)

// appliedFile, inside a bare copy's directory, holds how many of the repository's pack records
// the copy has indexed (decimal). It lives in the copy, so wiping the copy forgets it too.
const appliedFile = "slipway-packs"

// Retry bounds of a copy that could not converge (a pack blob not yet fetchable).
const (
	minRetry = 200 * time.Millisecond
	maxRetry = 10 * time.Second
	// catchUpTimeout bounds the read barrier a server's first pass waits for.
	catchUpTimeout = 5 * time.Second
)

// Replica is this server's bare copies of every repository, under DATA/git/repos/<repo ID>.
// One goroutine (run, a background task) converges them to the replicated state: it indexes
// each pack record not yet indexed (in order, fetching the blob from a peer when this server
// lacks it), then moves the refs to exactly the state's with one `git update-ref --stdin`
// transaction, leaving a ref whose object has not arrived for a later pass; a deleted
// repository's directory is removed. A pass runs after every applied repository command, when
// WaitSynced asks, after a failed pass (with backoff), and every RepairInterval.
type Replica struct {
	m *Module

	mu       sync.Mutex
	git      *gitexec.Git
	gitErr   error             // why the replica does not run (git missing or too old)
	lastPass uint64            // the applied index as of the start of the last finished pass
	pending  map[string]bool   // repositories the last pass could not converge
	versions map[string]uint64 // repo ID → Record.version() its copy reflects
	changed  chan struct{}     // closed (and replaced) when a pass finishes
	kick     chan struct{}
	caughtUp bool // a read barrier succeeded since the start (only the pass's goroutine uses it)

	maint    *maintenance // the background repacks (maintenance.go)
	refLocks sync.Map     // repo ID → *sync.Mutex ordering update-ref and pack-refs (refsLock)
}

func newReplica(m *Module) *Replica {
	return &Replica{m: m, pending: map[string]bool{}, versions: map[string]uint64{}, changed: make(chan struct{}), kick: make(chan struct{}, 1), maint: newMaintenance()}
}

// Dir is the path of a repository's bare copy on this server.
func (p *Replica) Dir(id string) string { return filepath.Join(p.reposDir(), id) }

func (p *Replica) reposDir() string { return filepath.Join(p.m.dir(), "repos") }

// HooksDir is the hooks directory every copy's core.hooksPath names.
func (p *Replica) HooksDir() string {
	if p.m.HooksDir != "" {
		return p.m.HooksDir
	}
	return filepath.Join(p.m.dir(), "hooks")
}

// Git is the git binary the copies are kept with (nil until the replica runs, or when git is
// unusable).
func (p *Replica) Git() *gitexec.Git {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.git
}

// WaitSynced returns once this server's copy of the repository (or the absence of one, for a
// deleted repository) reflects the replicated state as of the call, or ctx ends.
func (p *Replica) WaitSynced(ctx context.Context, id string) error {
	target := p.m.core.Cluster.AppliedIndex()
	for {
		p.mu.Lock()
		gitErr, done, ch := p.gitErr, p.lastPass >= target && !p.pending[id], p.changed
		p.mu.Unlock()
		if gitErr != nil {
			return fault.New(fault.Unavailable, "this server cannot serve git repositories: %v", gitErr)
		}
		if done {
			return nil
		}
		p.poke()
		select {
		case <-ch:
		case <-ctx.Done():
			return fault.New(fault.Unavailable, "this server's copy of repository %s has not caught up with the cluster yet (%v): retry, or use another server", id, ctx.Err())
		}
	}
}

func (p *Replica) poke() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// run is the background task: it starts git, then runs passes until ctx ends.
func (p *Replica) run(ctx context.Context) {
	log := p.m.core.Log.With("component", "git")
	g, err := p.start(ctx)
	p.mu.Lock()
	p.git, p.gitErr = g, err
	p.mu.Unlock()
	if err != nil {
		log.Error("git repositories are not served by this server", "err", err)
		p.finish(0, nil)
		return
	}
	events, stop := p.m.core.Events.Subscribe(1024)
	defer func() { stop() }()
	repair := time.NewTicker(p.m.RepairInterval)
	defer repair.Stop()
	var retry <-chan time.Time
	backoff, full := minRetry, true // the first pass after a start checks every copy
	for {
		if p.pass(ctx, full, log) {
			retry, backoff = nil, minRetry
		} else {
			retry, backoff = time.After(backoff), min(backoff*2, maxRetry)
		}
		if full, err = p.wait(ctx, &events, &stop, repair.C, retry); err != nil {
			return
		}
	}
}

// wait blocks until the next pass is due: a repository command applied, WaitSynced asking, the
// retry after a failed pass, or the repair tick (full). A subscription the broker dropped
// (it fell behind) is renewed, and a pass runs since events were lost.
func (p *Replica) wait(ctx context.Context, events *<-chan fsm.Event, stop *func(), repair, retry <-chan time.Time) (full bool, err error) {
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-p.kick:
			return false, nil
		case <-retry:
			return false, nil
		case <-repair:
			return true, nil
		case e, open := <-*events:
			if !open {
				*events, *stop = p.m.core.Events.Subscribe(1024)
				return false, nil
			}
			if e.Kind == "repo" {
				return false, nil
			}
		}
	}
}

func (p *Replica) start(ctx context.Context) (*gitexec.Git, error) {
	for _, d := range []string{p.reposDir(), p.HooksDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	return p.m.git, p.m.gitErr // found when the module registered
}

// pass converges every copy; full checks each against git even when its version is unchanged.
// It reports whether every copy converged. Until a read barrier has succeeded since the start,
// a pass does nothing: the state a restarted server has applied so far (a snapshot older than
// its log, the log replaying) may lack repositories or their latest pushes, and a pass on it
// would remove those copies and index them all again.
func (p *Replica) pass(ctx context.Context, full bool, log *slog.Logger) bool {
	if !p.caughtUp {
		bctx, cancel := context.WithTimeout(ctx, catchUpTimeout)
		err := p.m.core.Cluster.ConsistentRead(bctx)
		cancel()
		if err != nil {
			return false // retried with backoff
		}
		p.caughtUp = true
	}
	index := p.m.core.Cluster.AppliedIndex()
	var recs []Record
	err := p.m.core.State.View(func(tx *state.Tx) error {
		return tx.Bucket(bucketRepos).ForEach(func(_, v []byte) error {
			var r Record
			if err := jsonUnmarshal(v, &r); err != nil {
				return err
			}
			recs = append(recs, r)
			return nil
		})
	})
	if err != nil {
		log.Warn("read repositories", "err", err)
		return false
	}
	pending := map[string]bool{}
	live := map[string]bool{}
	for _, r := range recs {
		live[r.ID] = true
		p.mu.Lock()
		v, seen := p.versions[r.ID]
		p.mu.Unlock()
		if !full && seen && v == r.version() {
			continue
		}
		if err := p.converge(ctx, r); err != nil {
			pending[r.ID] = true
			if !errors.Is(err, errMissing) && ctx.Err() == nil {
				log.Warn("converge the copy of a repository", "repo", r.Name, "id", r.ID, "err", err)
			}
			continue
		}
		p.mu.Lock()
		p.versions[r.ID] = r.version()
		p.mu.Unlock()
	}
	entries, err := os.ReadDir(p.reposDir())
	if err != nil {
		log.Warn("list the copies", "err", err)
	}
	for _, e := range entries {
		if !live[e.Name()] {
			if err := os.RemoveAll(filepath.Join(p.reposDir(), e.Name())); err != nil {
				log.Warn("remove the copy of a deleted repository", "id", e.Name(), "err", err)
				pending[e.Name()] = true
			}
		}
	}
	p.finish(index, pending)
	p.pokeMaintenance()
	return len(pending) == 0
}

func (p *Replica) finish(index uint64, pending map[string]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id := range p.versions {
		if pending[id] {
			delete(p.versions, id)
		}
	}
	if pending == nil {
		pending = map[string]bool{}
	}
	p.lastPass, p.pending = max(p.lastPass, index), pending
	close(p.changed)
	p.changed = make(chan struct{})
}

// errMissing is a copy left behind because an object its refs need has not arrived.
var errMissing = errors.New("objects missing")

// converge brings one copy to the repository's state: created if missing, HEAD on the default
// branch, every pack record indexed, the refs exactly the state's.
func (p *Replica) converge(ctx context.Context, r Record) error {
	g := p.Git()
	dir := p.Dir(r.ID)
	head, err := os.ReadFile(filepath.Join(dir, "HEAD"))
	if errors.Is(err, os.ErrNotExist) {
		_ = os.RemoveAll(dir) // a partial copy (a crash during init): start again
		if err := g.InitBare(ctx, dir, r.DefaultBranch, p.HooksDir()); err != nil {
			return err
		}
	} else if err != nil {
		return err
	} else if want := "ref: refs/heads/" + r.DefaultBranch + "\n"; string(head) != want {
		if err := g.Run(ctx, gitexec.Command{Args: []string{"symbolic-ref", "HEAD", "refs/heads/" + r.DefaultBranch}, GitDir: dir}); err != nil {
			return err
		}
	}
	var pks []Pack
	var want map[string]string
	err = p.m.core.State.View(func(tx *state.Tx) error {
		var err error
		pks, err = packs(tx, r.ID)
		want = refs(tx, r.ID)
		return err
	})
	if err != nil {
		return err
	}
	if err := p.indexPacks(ctx, g, dir, pks); err != nil {
		return err
	}
	l := p.refsLock(r.ID)
	l.Lock()
	defer l.Unlock()
	return p.setRefs(ctx, g, dir, want)
}

// indexPacks indexes, in order, the pack records the copy has not indexed yet.
func (p *Replica) indexPacks(ctx context.Context, g *gitexec.Git, dir string, pks []Pack) error {
	done := 0
	if b, err := os.ReadFile(filepath.Join(dir, appliedFile)); err == nil {
		done, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	for seq := done; seq < len(pks); seq++ {
		rc, blob, err := p.m.core.Blobs.Open(ctx, pks[seq].SHA256)
		if err != nil {
			return fmt.Errorf("open pack %d (%s): %w", seq, pks[seq].SHA256, err)
		}
		// The server that received the push already has this very pack: receive-pack moved it
		// in under its git name. Indexing it again would only rewrite the same files.
		name, err := packName(rc, blob.Size)
		if err == nil && !fileExists(filepath.Join(dir, "objects", "pack", "pack-"+name+".idx")) {
			if _, err = rc.Seek(0, io.SeekStart); err == nil {
				err = g.Run(ctx, gitexec.Command{Args: []string{"index-pack", "--stdin"}, GitDir: dir, Stdin: rc})
			}
		}
		_ = rc.Close()
		if err != nil {
			return fmt.Errorf("index pack %d (%s): %w", seq, pks[seq].SHA256, err)
		}
		if err := writeFileAtomic(filepath.Join(dir, appliedFile), []byte(strconv.Itoa(seq+1)+"\n")); err != nil {
			return err
		}
	}
	return nil
}

// packName is a pack's name as git gives it (pack-NAME.pack): its trailing checksum, the last
// 20 bytes (SHA-1 packs, the only ones receive-pack makes here).
func packName(r io.ReadSeeker, size int64) (string, error) {
	if size < 32 { // a 12-byte header and the 20-byte checksum
		return "", fmt.Errorf("a pack of %d bytes is too short", size)
	}
	if _, err := r.Seek(size-20, io.SeekStart); err != nil {
		return "", err
	}
	var sum [20]byte
	if _, err := io.ReadFull(r, sum[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(sum[:]), nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// setRefs moves the copy's refs to want in one update-ref transaction. A ref whose object the
// copy lacks is left as it is, and errMissing returned once the others are set.
func (p *Replica) setRefs(ctx context.Context, g *gitexec.Git, dir string, want map[string]string) error {
	out, err := g.Output(ctx, dir, "for-each-ref", "--format=%(objectname) %(refname)")
	if err != nil {
		return err
	}
	have := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if sha, ref, ok := strings.Cut(line, " "); ok {
			have[ref] = sha
		}
	}
	var changes []string
	for ref, sha := range want {
		if have[ref] != sha {
			changes = append(changes, ref)
		}
	}
	for ref := range have {
		if _, ok := want[ref]; !ok {
			changes = append(changes, ref)
		}
	}
	if len(changes) == 0 {
		return nil
	}
	sort.Strings(changes)
	missing, err := p.missing(ctx, g, dir, changes, want)
	if err != nil {
		return err
	}
	var in bytes.Buffer
	for _, ref := range changes {
		switch sha, ok := want[ref]; {
		case !ok:
			fmt.Fprintf(&in, "delete %s\n", ref)
		case !missing[sha]:
			fmt.Fprintf(&in, "update %s %s\n", ref, sha)
		}
	}
	if in.Len() > 0 {
		if err := g.Run(ctx, gitexec.Command{Args: []string{"update-ref", "--stdin"}, GitDir: dir, Stdin: &in}); err != nil {
			return err
		}
	}
	if len(missing) > 0 {
		return errMissing
	}
	return nil
}

// missing returns which of the objects the refs are to point at the copy lacks.
func (p *Replica) missing(ctx context.Context, g *gitexec.Git, dir string, refs []string, want map[string]string) (map[string]bool, error) {
	var in bytes.Buffer
	for _, ref := range refs {
		if sha, ok := want[ref]; ok {
			in.WriteString(sha + "\n")
		}
	}
	var out bytes.Buffer
	if err := g.Run(ctx, gitexec.Command{Args: []string{"cat-file", "--batch-check"}, GitDir: dir, Stdin: &in, Stdout: &out}); err != nil {
		return nil, err
	}
	missing := map[string]bool{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if sha, ok := strings.CutSuffix(sc.Text(), " missing"); ok {
			missing[sha] = true
		}
	}
	return missing, sc.Err()
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
