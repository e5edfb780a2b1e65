package git

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git/gitexec"
)

// MergeStrategy is how Merge joins the source into the destination (CodeCommit's three).
type MergeStrategy string

// The merge strategies.
const (
	// MergeFastForward moves the destination to the source commit, when the destination is an
	// ancestor of the source; no commit is made.
	MergeFastForward MergeStrategy = "fast-forward"
	// MergeSquash makes one commit of the merged tree whose only parent is the destination.
	MergeSquash MergeStrategy = "squash"
	// MergeThreeWay makes a merge commit of the merged tree whose parents are the destination
	// and the source, in that order.
	MergeThreeWay MergeStrategy = "three-way"
)

// Bounds of a merge.
const (
	// MaxMergeConflicts bounds the conflicting paths a MergeResult lists; a merge with more
	// lists the first ones (sorted as git reports them).
	MaxMergeConflicts = 1000
	// maxSquashSubjects bounds the subjects a squash commit's default message lists.
	maxSquashSubjects = 100
	// maxMergeOutput bounds the bytes of merge-tree's output read (the tree and the conflicted
	// paths, NUL-separated).
	maxMergeOutput = 1 << 20
)

// MergeRequest: Source and Destination are branch names; SourceCommit and DestinationCommit the
// 40-hex heads the caller saw (the destination's is the compare-and-swap's old value; the
// source's must still be the source branch's head, else a conflict error). Message is the commit
// message (a default naming the branches when empty); Author the merging user.
//
// Mergeable takes an empty SourceCommit or DestinationCommit as that branch's head now; Merge
// needs both.
type MergeRequest struct {
	Repo, Source, Destination, SourceCommit, DestinationCommit string
	Strategy                                                   MergeStrategy
	Message                                                    string
	Author                                                     Author // the merge commit's author and committer
	// ViaPullRequest marks the merge of a pull request whose approval rules hold (only the
	// pull-request service sets it): a branch protected with require-pr takes it.
	ViaPullRequest bool
}

// MergeResult: Commit is the destination's new head (for fast-forward, the source commit);
// Conflicts the paths git could not merge (then nothing moved).
type MergeResult struct {
	Commit    string   `json:"commit,omitempty"`
	Conflicts []string `json:"conflicts,omitempty"`
}

// Mergeable computes, without moving anything, whether req would merge: for fast-forward
// whether the destination is an ancestor of the source (a fault.Conflict error when not); for
// the others the conflicting paths (empty when it merges cleanly); Commit stays empty, as no
// commit is made. It reads this server's copy synced with the state as of the call (the
// browse path's read barrier) and writes git's scratch objects to a temporary directory only:
// one merge-base and one merge-tree, cheap enough to run after every push. A source already
// in the destination is fault.Invalid (nothing to merge); unknown branches or commits
// fault.NotFound. Branch heads that moved are not an error here: it checks the commits given.
func (m *Module) Mergeable(ctx context.Context, req MergeRequest) (MergeResult, error) {
	run, err := m.startMerge(ctx, req, false)
	if err != nil {
		return MergeResult{}, err
	}
	defer run.close()
	if req.Strategy == MergeFastForward {
		return MergeResult{}, nil // startMerge checked the ancestry
	}
	_, conflicts, err := run.mergeTree(ctx)
	return MergeResult{Conflicts: conflicts}, err
}

// Merge makes the merge commit (none for fast-forward) with the real git and publishes it
// through ONE repo.push whose compare-and-swap expects DestinationCommit (a stale destination is
// fault.Conflict naming its head now), exactly as PutFile publishes: the objects are made in a
// temporary object directory beside this server's copy (its objects an alternate), packed,
// stored with StorePack and proposed with Backend.Push. The source branch must still be at
// SourceCommit (else fault.Conflict naming where it is). Conflicts: fault.Conflict with the
// paths (and MergeResult.Conflicts filled); then nothing moved. ctx is a write context carrying
// the caller for the push's audit record; callers authorize first (as AuthorizeBranch does
// for the destination).
func (m *Module) Merge(ctx context.Context, req MergeRequest) (MergeResult, error) {
	run, err := m.startMerge(ctx, req, true)
	if err != nil {
		return MergeResult{}, err
	}
	defer run.close()
	commit, pack := run.src, ""
	if req.Strategy != MergeFastForward {
		tree, conflicts, err := run.mergeTree(ctx)
		if err != nil {
			return MergeResult{}, err
		}
		if len(conflicts) > 0 {
			return MergeResult{Conflicts: conflicts}, fault.New(fault.Conflict, "merging %s into %s conflicts in %d path(s): %s; resolve them on the source branch and push again",
				state.Shorten(req.Source), state.Shorten(req.Destination), len(conflicts), strings.Join(shortList(conflicts, 5), ", "))
		}
		if commit, err = run.commit(ctx, tree); err != nil {
			return MergeResult{}, err
		}
		pack = filepath.Join(run.tmp, "merge.pack")
		if err := run.pack(ctx, commit, pack); err != nil {
			return MergeResult{}, err
		}
		if pack, err = m.Backend().StorePack(ctx, run.c.b.repo, pack); err != nil {
			return MergeResult{}, err
		}
	}
	ref := "refs/heads/" + req.Destination
	// ObjectDir: the merge commit is only in the temporary object directory until the push
	// applies; branch protection's force-push check reads it there.
	res, err := m.Backend().Push(ctx, Push{Repo: run.c.b.repo, Pack: pack, Updates: []RefUpdate{{Ref: ref, Old: run.dst, New: commit}},
		ObjectDir: filepath.Join(run.tmp, "objects"), ViaPullRequest: req.ViaPullRequest})
	if err != nil {
		return MergeResult{}, err
	}
	ok := len(res) == 1 && res[0].OK
	m.core.Log.Info("git merge", "repo", run.c.b.repo.Name, "strategy", string(req.Strategy), "ref", ref, "old", run.dst, "new", commit, "ok", ok)
	if !ok {
		reason := "no outcome"
		if len(res) == 1 {
			reason = res[0].Reason
		}
		if reason == "fetch first" {
			now, _ := m.Repos().Refs(ctx, req.Repo)
			return MergeResult{}, staleDestination(req.Destination, now[ref])
		}
		return MergeResult{}, fault.New(fault.Conflict, "the merge into %s was refused: %s", state.Shorten(req.Destination), reason)
	}
	if run.replayed {
		// A client's retry of a merge the state already applied: the push replayed the first
		// outcome, so the branch holds the first attempt's commit.
		if now, err := m.Repos().Refs(ctx, req.Repo); err == nil && now[ref] != "" {
			commit = now[ref]
		}
	}
	return MergeResult{Commit: commit}, nil
}

// mergeRun is one Mergeable or Merge: the request checked, the commits resolved in the synced
// copy, git run with a temporary object directory.
type mergeRun struct {
	req      MergeRequest
	c        *commitRun
	tmp      string
	src, dst string
	replayed bool
}

func (r *mergeRun) close() { _ = os.RemoveAll(r.tmp) }

// checkMerge checks a request's fields before anything is read.
func checkMerge(req MergeRequest, write bool) error {
	switch req.Strategy {
	case MergeFastForward, MergeSquash, MergeThreeWay:
	default:
		return fault.New(fault.Invalid, "merge strategy %q is not one of fast-forward, squash, three-way", state.Shorten(string(req.Strategy)))
	}
	if err := checkBranch(req.Source); err != nil {
		return fault.New(fault.Invalid, "source: %v", err)
	}
	if err := checkBranch(req.Destination); err != nil {
		return fault.New(fault.Invalid, "destination: %v", err)
	}
	if req.Source == req.Destination {
		return fault.New(fault.Invalid, "source and destination are both %s: name two branches", state.Shorten(req.Source))
	}
	for _, c := range []struct{ what, id string }{{"source commit", req.SourceCommit}, {"destination commit", req.DestinationCommit}} {
		if c.id == "" && write {
			return fault.New(fault.Invalid, "%s is empty: pass the branch's head you reviewed (40 hex digits)", c.what)
		}
		if c.id != "" && !isHexID(c.id) {
			return fault.New(fault.Invalid, "%s %s is not a full commit ID (40 hex digits)", c.what, state.Shorten(c.id))
		}
	}
	switch msg := strings.TrimSpace(req.Message); {
	case len(req.Message) > MaxCommitMessage:
		return fault.New(fault.Invalid, "message is %d bytes, over the limit of %d", len(req.Message), MaxCommitMessage)
	case !utf8.ValidString(msg) || strings.ContainsRune(msg, 0):
		return fault.New(fault.Invalid, "message is not UTF-8 text (or holds a NUL)")
	}
	return nil
}

// startMerge checks req, resolves the repository on a synced copy, checks both branches are
// where the request says (write: strictly; else an empty commit is the branch's head), that
// both commits exist in the copy, that there is something to merge and, for fast-forward, that
// it is possible.
func (m *Module) startMerge(ctx context.Context, req MergeRequest, write bool) (*mergeRun, error) {
	if err := checkMerge(req, write); err != nil {
		return nil, err
	}
	b, err := m.browse(ctx, req.Repo)
	if err != nil {
		return nil, err
	}
	refs, err := m.Repos().Refs(ctx, req.Repo)
	if err != nil {
		return nil, err
	}
	// A push applied between browse's sync and the read above: the copy catches up with it, so
	// the heads just read are in it (cheap when nothing was applied since).
	if err := m.replica.WaitSynced(ctx, b.repo.ID); err != nil {
		return nil, err
	}
	run := &mergeRun{req: req, src: req.SourceCommit, dst: req.DestinationCommit, replayed: write && m.replayed(ctx)}
	srcHead, ok := refs["refs/heads/"+req.Source]
	if !ok {
		return nil, fault.New(fault.NotFound, "source branch %s is not a branch of repository %s", state.Shorten(req.Source), state.Shorten(b.repo.Name))
	}
	dstHead, ok := refs["refs/heads/"+req.Destination]
	if !ok {
		return nil, fault.New(fault.NotFound, "destination branch %s is not a branch of repository %s", state.Shorten(req.Destination), state.Shorten(b.repo.Name))
	}
	switch {
	case run.src == "":
		run.src = srcHead
	case run.src != srcHead && write && !run.replayed:
		return nil, fault.New(fault.Conflict, "the source branch %s moved: it is at %s now, not %s; review the new commits and merge again", state.Shorten(req.Source), srcHead, run.src)
	}
	switch {
	case run.dst == "":
		run.dst = dstHead
	case run.dst != dstHead && write && !run.replayed:
		return nil, staleDestination(req.Destination, dstHead)
	}
	// A branch's head is in the synced copy; another commit the caller named may not be.
	for _, c := range []struct{ what, id, head string }{{"source commit", run.src, srcHead}, {"destination commit", run.dst, dstHead}} {
		if c.id == c.head {
			continue
		}
		if _, err := b.resolve(ctx, c.what, c.id); err != nil {
			return nil, err
		}
	}
	if run.tmp, err = os.MkdirTemp(m.dir(), "merge-"); err != nil {
		return nil, fault.New(fault.Internal, "a temporary directory for the merge: %v", err)
	}
	if err := os.Mkdir(filepath.Join(run.tmp, "objects"), 0o700); err != nil {
		run.close()
		return nil, fault.New(fault.Internal, "a temporary object directory: %v", err)
	}
	who := req.Author
	if who.Name == "" {
		who.Name = "slipway"
	}
	run.c = &commitRun{b: b, env: []string{
		"GIT_OBJECT_DIRECTORY=" + filepath.Join(run.tmp, "objects"),
		"GIT_ALTERNATE_OBJECT_DIRECTORIES=" + filepath.Join(b.repo.Dir, "objects"),
		"GIT_AUTHOR_NAME=" + who.Name, "GIT_AUTHOR_EMAIL=" + who.Email,
		"GIT_COMMITTER_NAME=" + who.Name, "GIT_COMMITTER_EMAIL=" + who.Email,
	}}
	if run.replayed {
		return run, nil // the push replays the first outcome; nothing to check against now
	}
	if err := run.check(ctx); err != nil {
		run.close()
		return nil, err
	}
	return run, nil
}

// check refuses a merge with nothing to merge (the source already in the destination) and a
// fast-forward the destination's history does not allow.
func (r *mergeRun) check(ctx context.Context) error {
	in, err := r.isAncestor(ctx, r.src, r.dst)
	if err != nil {
		return err
	}
	if in {
		return fault.New(fault.Invalid, "the source %s (%s) is already in the destination %s: nothing to merge", state.Shorten(r.req.Source), r.src, state.Shorten(r.req.Destination))
	}
	if r.req.Strategy != MergeFastForward {
		return nil
	}
	ff, err := r.isAncestor(ctx, r.dst, r.src)
	if err != nil {
		return err
	}
	if !ff {
		return fault.New(fault.Conflict, "the destination %s (%s) has commits the source %s does not: a fast-forward is not possible; merge with squash or three-way, or bring the destination into the source first",
			state.Shorten(r.req.Destination), r.dst, state.Shorten(r.req.Source))
	}
	return nil
}

// isAncestor runs merge-base --is-ancestor: exit 0 yes, 1 no.
func (r *mergeRun) isAncestor(ctx context.Context, a, b string) (bool, error) {
	err := r.c.b.g.Run(ctx, gitexec.Command{Args: []string{"merge-base", "--is-ancestor", a, b}, GitDir: r.c.b.repo.Dir, Env: r.c.env})
	var ge *gitexec.Error
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ge) && ge.ExitCode() == 1:
		return false, nil
	default:
		return false, fault.New(fault.Internal, "the ancestry of %s and %s in repository %s: %v", a, b, state.Shorten(r.c.b.repo.Name), err)
	}
}

// mergeTree merges the source into the destination with git merge-tree --write-tree (the
// destination first, "ours"): git computes the merge bases itself and, in a criss-cross
// history with several, merges them into a virtual base (the ort strategy), as git merge does.
// It answers the merged tree, or the conflicted paths (exit status 1). Its objects go to the
// temporary object directory.
func (r *mergeRun) mergeTree(ctx context.Context) (tree string, conflicts []string, err error) {
	out := &bounded{limit: maxMergeOutput}
	err = r.c.b.g.Run(ctx, gitexec.Command{
		Args:   []string{"merge-tree", "--write-tree", "--name-only", "-z", "--no-messages", r.dst, r.src},
		GitDir: r.c.b.repo.Dir, Env: r.c.env, Stdout: out,
	})
	var ge *gitexec.Error
	conflicted := errors.As(err, &ge) && ge.ExitCode() == 1
	switch {
	case err == nil, conflicted, out.cut:
	case ctx.Err() != nil:
		return "", nil, fault.New(fault.Timeout, "merging in repository %s took too long: %v", state.Shorten(r.c.b.repo.Name), ctx.Err())
	default:
		return "", nil, fault.New(fault.Internal, "merging %s into %s in repository %s: %v", r.src, r.dst, state.Shorten(r.c.b.repo.Name), err)
	}
	fields := strings.Split(strings.TrimRight(out.buf.String(), "\x00"), "\x00")
	tree = strings.TrimSpace(fields[0])
	if !isHexID(tree) {
		return "", nil, fault.New(fault.Internal, "git merge-tree answered %q", state.Shorten(tree))
	}
	if !conflicted && !out.cut {
		return tree, nil, nil
	}
	seen := map[string]bool{}
	for _, p := range fields[1:] {
		if p == "" || seen[p] || (out.cut && p == fields[len(fields)-1]) {
			continue // the last path of a cut output may be cut itself
		}
		seen[p] = true
		if conflicts = append(conflicts, p); len(conflicts) == MaxMergeConflicts {
			break
		}
	}
	if len(conflicts) == 0 {
		conflicts = []string{"(paths not listed: git's output was over its bound)"}
	}
	return "", conflicts, nil
}

// commit makes the squash or merge commit of tree: parents the destination (and, three-way,
// the source), the message the request's or a default naming the branches (a squash's lists
// the squashed commits' subjects).
func (r *mergeRun) commit(ctx context.Context, tree string) (string, error) {
	args := []string{"commit-tree", tree, "-p", r.dst}
	if r.req.Strategy == MergeThreeWay {
		args = append(args, "-p", r.src)
	} else if same, _ := r.c.git(ctx, fault.Internal, nil, "rev-parse", r.dst+"^{tree}"); same == tree {
		return "", fault.New(fault.Invalid, "squashing %s into %s leaves the destination's files as they are: nothing to merge", state.Shorten(r.req.Source), state.Shorten(r.req.Destination))
	}
	msg := strings.TrimSpace(r.req.Message)
	if msg == "" {
		var err error
		if msg, err = r.defaultMessage(ctx); err != nil {
			return "", err
		}
	}
	commit, err := r.c.git(ctx, fault.Internal, []byte(msg+"\n"), args...)
	if err != nil {
		return "", err
	}
	if !isHexID(commit) {
		return "", fault.New(fault.Internal, "git commit-tree answered %q", commit)
	}
	return commit, nil
}

func (r *mergeRun) defaultMessage(ctx context.Context) (string, error) {
	if r.req.Strategy == MergeThreeWay {
		return fmt.Sprintf("Merge branch '%s' into %s", r.req.Source, r.req.Destination), nil
	}
	out, cut, err := r.c.b.output(ctx, 64<<10, "", "log", "--format=%s", "--max-count="+fmt.Sprint(maxSquashSubjects+1), r.src, "^"+r.dst)
	if err != nil {
		return "", err
	}
	subjects := strings.Split(strings.TrimSpace(string(out)), "\n")
	more := len(subjects) > maxSquashSubjects || cut
	if len(subjects) > maxSquashSubjects {
		subjects = subjects[:maxSquashSubjects]
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "Squash branch '%s' into %s\n", r.req.Source, r.req.Destination)
	for i := len(subjects) - 1; i >= 0; i-- { // oldest first
		fmt.Fprintf(&sb, "\n* %s", subjects[i])
	}
	if more {
		sb.WriteString("\n* ... and older commits")
	}
	return sb.String(), nil
}

// pack writes the merge commit's objects that neither parent has as one self-contained pack.
func (r *mergeRun) pack(ctx context.Context, commit, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fault.New(fault.Internal, "the merge's pack: %v", err)
	}
	in := commit + "\n^" + r.dst + "\n^" + r.src + "\n"
	err = r.c.b.g.Run(ctx, gitexec.Command{Args: []string{"pack-objects", "--revs", "--stdout", "-q"}, GitDir: r.c.b.repo.Dir, Env: r.c.env, Stdin: strings.NewReader(in), Stdout: f})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fault.New(fault.Internal, "packing the merge for repository %s: %v", state.Shorten(r.c.b.repo.Name), err)
	}
	return nil
}

func staleDestination(branch, at string) error {
	if at == "" {
		return fault.New(fault.Conflict, "the destination branch %s was deleted since you looked: nothing merged", state.Shorten(branch))
	}
	return fault.New(fault.Conflict, "the destination branch %s moved: it is at %s now; check the merge again", state.Shorten(branch), at)
}

// shortList is the first n of list, and a count of the rest.
func shortList(list []string, n int) []string {
	if len(list) <= n {
		return list
	}
	return append(append([]string(nil), list[:n]...), fmt.Sprintf("and %d more", len(list)-n))
}
