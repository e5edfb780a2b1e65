package review

import (
	"bytes"
	"container/list"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/git"
	"github.com/slipwayhq/slipway/server/review/codeowners"
)

// CODEOWNERS (DESIGN.md "CODEOWNERS", docs/REVIEW.md): the destination branch's CODEOWNERS file
// adds approval rules to an open pull request, read from its current revision's destination
// commit (so a pull request cannot change its own owners). Each changed path (merge base to
// source; a rename is both its paths) is owned by the last line of the file that matches it;
// each distinct set of owners of the changed paths is one rule: one approval of the current
// revision from those owners, never the author's. The file and what a revision's paths are
// owned by are cached by commit IDs (what they name never changes), so a pull request's page
// reads git once per revision; evaluation stays a read.

// codeOwnersPaths are where the file is looked for on the destination, in GitHub's order: the
// first one found is read.
var codeOwnersPaths = []string{".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"}

// Bounds (variables for the tests).
var (
	// maxOwnedPaths bounds the changed paths matched against the file. A pull request changing
	// more gets a rule nobody can meet (only an override merges it): letting the paths past the
	// bound go unchecked would let a large enough change skip its owners.
	maxOwnedPaths = 5000
	// maxRulePaths bounds the paths a rule lists (PullRequestRuleState.MorePaths counts the rest).
	maxRulePaths = 50
)

// ownersCacheBytes bounds each of the two caches (files, revisions), roughly in bytes.
const ownersCacheBytes = 8 << 20

// ownersFile is the CODEOWNERS file of one destination commit: path "" when there is none.
type ownersFile struct {
	path  string
	file  *codeowners.File
	diags []pub.CodeOwnersDiagnostic
}

// ownership is who owns what one revision changes: a group per distinct set of owners, in the
// order of their names; tooMany when the diff has more than maxOwnedPaths.
type ownership struct {
	file    *ownersFile
	groups  []ownedGroup
	tooMany bool
}

// ownedGroup is the changed paths of one set of owners and the rule they make.
type ownedGroup struct {
	name  string
	pool  []string
	paths []string
	more  int
}

// ownersCache holds the files by destination commit and the ownerships by revision (its three
// commits), each an LRU bounded in bytes. The zero value is ready.
type ownersCache struct {
	files      lru[string, *ownersFile]
	revisions  lru[revisionKey, *ownership]
	initialize sync.Once
}

type revisionKey struct{ destination, base, source string }

// codeOwnerRules are the CODEOWNERS rules of p's current revision and the file they come from
// (nil: none). A pull request that is not open has none: they gate its merge, and the commits
// they read may be gone once it is merged or closed.
func (m *Module) codeOwnerRules(ctx context.Context, p PR) ([]pub.PullRequestRuleState, *pub.CodeOwnersFile, error) {
	if p.Status != StatusOpen {
		return nil, nil, nil
	}
	own, err := m.ownership(ctx, p)
	if err != nil || own.file.path == "" {
		return nil, nil, err
	}
	rev := p.Current()
	rules := make([]pub.PullRequestRuleState, 0, len(own.groups)+1)
	for _, g := range own.groups {
		st := pub.PullRequestRuleState{PullRequestRule: pub.PullRequestRule{Name: g.name, Approvals: 1, Pool: slices.Clone(g.pool)},
			Origin: pub.RuleOriginCodeOwners, Paths: slices.Clone(g.paths), MorePaths: g.more, ApprovedBy: []string{}}
		for _, a := range p.Approvals {
			// The author's own approval never counts (apply refuses it today; this keeps it so).
			if a.Revision == rev.Number && a.User != p.Author && m.inPool(a.User, g.pool) {
				st.ApprovedBy = append(st.ApprovedBy, a.User)
			}
		}
		st.Satisfied = len(st.ApprovedBy) >= 1
		rules = append(rules, st)
	}
	if own.tooMany {
		rules = append(rules, pub.PullRequestRuleState{
			PullRequestRule: pub.PullRequestRule{Name: fmt.Sprintf("CODEOWNERS: more than %d changed paths, not all checked (only an override merges it)", maxOwnedPaths), Approvals: 1, Pool: []string{}},
			Origin:          pub.RuleOriginCodeOwners, ApprovedBy: []string{},
		})
	}
	return rules, &pub.CodeOwnersFile{Path: own.file.path, Commit: rev.DestinationCommit, Diagnostics: slices.Clone(own.file.diags)}, nil
}

// ownership answers who owns what p's current revision changes, from the cache or from git.
func (m *Module) ownership(ctx context.Context, p PR) (*ownership, error) {
	c := &m.owners
	c.initialize.Do(func() {
		c.files.init(ownersCacheBytes)
		c.revisions.init(ownersCacheBytes)
	})
	rev := p.Current()
	key := revisionKey{rev.DestinationCommit, rev.MergeBase, rev.SourceCommit}
	if own, ok := c.revisions.get(key); ok {
		return own, nil
	}
	f, cached := c.files.get(rev.DestinationCommit)
	hasRules := func() bool { return f.file != nil && len(f.file.Rules) > 0 }
	var b *git.Browser
	if !cached || hasRules() {
		var err error
		b, err = m.git.Browse(ctx, p.Repo)
		if fault.CodeOf(err) == fault.NotFound {
			return &ownership{file: &ownersFile{}}, nil // the repository was deleted: nothing to merge into
		}
		if err != nil {
			return nil, err
		}
	}
	if !cached {
		var err error
		if f, err = readOwnersFile(ctx, b, rev.DestinationCommit); err != nil {
			return nil, err
		}
		c.files.put(rev.DestinationCommit, f, 256+4*fileBytes(f))
	}
	own := &ownership{file: f}
	if hasRules() {
		paths, more, err := b.Changed(ctx, rev.MergeBase, rev.SourceCommit, maxOwnedPaths)
		if err != nil {
			return nil, err
		}
		own.groups, own.tooMany = groupByOwners(f.file, paths), more
	}
	cost := 256
	for _, g := range own.groups {
		cost += 128 + len(g.name)
		for _, p := range g.paths {
			cost += 16 + len(p)
		}
	}
	c.revisions.put(key, own, cost)
	return own, nil
}

// readOwnersFile reads and parses the first CODEOWNERS of codeOwnersPaths in commit. A commit
// this server's copy does not have is an error, never "no file" (which would be cached).
func readOwnersFile(ctx context.Context, b *git.Browser, commit string) (*ownersFile, error) {
	if _, err := b.Resolve(ctx, commit); err != nil {
		return nil, err
	}
	for _, path := range codeOwnersPaths {
		ref, err := b.File(ctx, commit, path, 1<<40)
		switch fault.CodeOf(err) {
		case "":
		case fault.NotFound, fault.Invalid: // none there, or a directory
			continue
		default:
			return nil, err
		}
		f := &ownersFile{path: path}
		if ref.Size > codeowners.MaxSize {
			f.diags = []pub.CodeOwnersDiagnostic{{Kind: string(codeowners.KindTooLarge),
				Message: fmt.Sprintf("the file is %d bytes, over the limit of %d: it is ignored; split ownership into fewer lines", ref.Size, codeowners.MaxSize)}}
			return f, nil
		}
		var buf bytes.Buffer
		if err := b.WriteFile(ctx, ref, &buf); err != nil {
			return nil, fault.New(fault.Internal, "reading %s of commit %s: %v", path, commit, err)
		}
		f.file = codeowners.Parse(buf.Bytes())
		for _, d := range f.file.Diagnostics {
			f.diags = append(f.diags, pub.CodeOwnersDiagnostic{Line: d.Line, Kind: string(d.Kind), Message: d.Message})
		}
		return f, nil
	}
	return &ownersFile{}, nil
}

// groupByOwners groups the owned paths by their set of owners (paths without owners are in no
// group), each group's name the sorted owners ("CODEOWNERS: @alice @org/backend") and its pool
// the approval pool they make: a user's name, group:TEAM for a team, an email as written (which
// no user name can be, so nobody approves as one).
func groupByOwners(f *codeowners.File, paths []string) []ownedGroup {
	var groups []ownedGroup
	index := map[string]int{}
	for _, path := range paths {
		r := f.Match(path)
		if r == nil || len(r.Owners) == 0 {
			continue
		}
		names := make([]string, 0, len(r.Owners))
		for _, o := range r.Owners {
			names = append(names, o.String())
		}
		slices.Sort(names)
		names = slices.Compact(names)
		key := strings.Join(names, " ")
		i, ok := index[key]
		if !ok {
			i = len(groups)
			index[key] = i
			groups = append(groups, ownedGroup{name: "CODEOWNERS: " + key, pool: poolOf(r.Owners)})
		}
		if g := &groups[i]; len(g.paths) < maxRulePaths {
			g.paths = append(g.paths, path)
		} else {
			g.more++
		}
	}
	slices.SortFunc(groups, func(a, b ownedGroup) int { return strings.Compare(a.name, b.name) })
	return groups
}

func poolOf(owners []codeowners.Owner) []string {
	pool := make([]string, 0, len(owners))
	for _, o := range owners {
		e := o.Name
		if o.Kind == codeowners.Team {
			e = "group:" + o.Name
		}
		if !slices.Contains(pool, e) {
			pool = append(pool, e)
		}
	}
	return pool
}

func fileBytes(f *ownersFile) int {
	n := 0
	if f.file != nil {
		for _, r := range f.file.Rules {
			n += 64 + len(r.Pattern)
			for _, o := range r.Owners {
				n += 32 + len(o.Name) + len(o.Org)
			}
		}
	}
	for _, d := range f.diags {
		n += 32 + len(d.Message)
	}
	return n
}

// lru is a map bounded by the sum of its entries' costs, dropping the least recently used
// first. An entry costing more than the bound is not kept.
type lru[K comparable, V any] struct {
	mu      sync.Mutex
	max     int
	used    int
	order   *list.List // of *lruEntry[K, V], most recent at the front
	entries map[K]*list.Element
}

type lruEntry[K comparable, V any] struct {
	key   K
	value V
	cost  int
}

func (l *lru[K, V]) init(max int) {
	l.max, l.order, l.entries = max, list.New(), map[K]*list.Element{}
}

func (l *lru[K, V]) get(k K) (V, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[k]
	if !ok {
		var zero V
		return zero, false
	}
	l.order.MoveToFront(e)
	return e.Value.(*lruEntry[K, V]).value, true
}

func (l *lru[K, V]) put(k K, v V, cost int) {
	if cost > l.max {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.entries[k]; ok {
		l.used -= e.Value.(*lruEntry[K, V]).cost
		l.order.Remove(e)
	}
	l.entries[k] = l.order.PushFront(&lruEntry[K, V]{k, v, cost})
	l.used += cost
	for l.used > l.max {
		old := l.order.Back()
		ent := old.Value.(*lruEntry[K, V])
		l.order.Remove(old)
		delete(l.entries, ent.key)
		l.used -= ent.cost
	}
}
