package review

import (
	"context"
	"time"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// retryAfter is how soon a sweep that could not revise every pull request (a copy not synced
// yet, a lost proposal) runs again when nothing else happens.
const retryAfter = 2 * time.Second

// watchPushes runs on the leader: after every applied repository or pull-request command (a
// push, a PR created or reopened) it compares each open pull request's branches, as the
// replicated state has them, with its current revision, and proposes a new revision for each
// that moved (pr.revise, a compare-and-swap on the revision number, so a sweep repeated by a
// new leader adds each revision once). The merge base is computed with git on the leader's
// copy. A deleted branch makes no revision (the PR keeps its last one).
func (m *Module) watchPushes(ctx context.Context) {
	for ctx.Err() == nil {
		events, stop := m.core.Events.Subscribe(1024)
		retry := m.sweep(ctx)
		for open := true; open && ctx.Err() == nil; {
			var timer <-chan time.Time
			if retry {
				timer = time.After(retryAfter)
			}
			select {
			case <-ctx.Done():
			case <-timer:
				retry = m.sweep(ctx)
			case e, ok := <-events:
				if open = ok; !ok {
					break // dropped: subscribe again, then sweep
				}
				if e.Kind != "repo" && e.Kind != "pr" {
					continue
				}
				drain(events)
				retry = m.sweep(ctx)
			}
		}
		stop()
	}
}

// drain takes what is queued: one sweep covers it all.
func drain[T any](ch <-chan T) {
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

// sweep revises every open pull request whose branches moved; it answers whether one could not
// be (then it should run again).
func (m *Module) sweep(ctx context.Context) (retry bool) {
	var open []PR
	if err := m.core.State.View(func(tx *state.Tx) error {
		return listPRs(tx, 0, func(p PR) (bool, error) {
			if p.Status == StatusOpen {
				open = append(open, p)
			}
			return true, nil
		})
	}); err != nil {
		m.core.Log.Error("pull requests: read the open ones", "err", err)
		return true
	}
	refsOf := map[string]map[string]string{}
	for _, p := range open {
		if ctx.Err() != nil {
			return false
		}
		refs, ok := refsOf[p.Repo]
		if !ok {
			var err error
			if refs, err = m.git.Repos().Refs(ctx, p.Repo); err != nil && fault.CodeOf(err) != fault.NotFound {
				m.core.Log.Warn("pull requests: read a repository's refs", "repo", p.Repo, "err", err)
				retry = true
				continue
			}
			refsOf[p.Repo] = refs
		}
		src, dst := refs["refs/heads/"+p.Source], refs["refs/heads/"+p.Destination]
		cur := p.Current()
		if src == "" || dst == "" {
			continue
		}
		if src == cur.SourceCommit && dst == cur.DestinationCommit {
			if merger := m.mergerOf(); merger != nil && cur.Mergeable == nil {
				if err := m.checkMergeable(ctx, merger, p); err != nil {
					m.core.Log.Warn("pull requests: check mergeability", "pr", p.ID, "repo", p.Repo, "err", err)
					retry = retry || fault.CodeOf(err) != fault.Conflict
				}
			}
			continue
		}
		if err := m.revise(ctx, p, src, dst); err != nil {
			m.core.Log.Warn("pull requests: revise", "pr", p.ID, "repo", p.Repo, "err", err)
			retry = retry || fault.CodeOf(err) != fault.Conflict
		}
	}
	return retry
}

// checkMergeable asks the merge engine whether p's current revision merges cleanly (three-way)
// and records the answer (pr.mergeable; a revision that is no longer current is refused).
func (m *Module) checkMergeable(ctx context.Context, merger Merger, p PR) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cur := p.Current()
	conflicts, err := merger.Mergeable(ctx, p.Repo, p.Source, p.Destination, cur.SourceCommit, cur.DestinationCommit, StrategyThreeWay)
	if err != nil {
		return err
	}
	if len(conflicts) > MaxConflicts {
		conflicts = conflicts[:MaxConflicts]
	}
	_, err = command.Propose(ctx, m.core.Cluster, cmdMergeable, m.core.Now(), MergeablePayload{ID: p.ID, Revision: cur.Number, Mergeable: len(conflicts) == 0, Conflicts: conflicts})
	return err
}

// revise proposes p's next revision at source and destination commits src and dst.
func (m *Module) revise(ctx context.Context, p PR, src, dst string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	b, err := m.git.Browse(ctx, p.Repo)
	if err != nil {
		return err
	}
	base, err := b.MergeBase(ctx, src, dst)
	if err != nil {
		return err
	}
	_, err = command.Propose(ctx, m.core.Cluster, cmdRevise, m.core.Now(), RevisePayload{
		ID: p.ID, After: p.Current().Number, SourceCommit: src, DestinationCommit: dst, MergeBase: base,
	})
	return err
}
