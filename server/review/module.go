// Package review is the pull-request service (issue 19): pull requests between branches of a
// repository of the git service, their revisions (one per push that moves either branch), their
// timeline, comments, approvals and merges. It owns the replicated state under review/..., the
// commands that change it (1400-1499), the Go API (Service) and /v1/pull-requests, authorized by
// CodeCommit's action names on the repository. It reads repositories through the git service's
// Go API and merges through a Merger it is given. See DESIGN.md.
package review

import (
	"context"
	"sync/atomic"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/git"
)

// commandRange is the block of command numbers the service owns.
var commandRange = command.Range{First: 1400, Last: 1499}

// The merge strategies, as CodeCommit names its merge options.
const (
	StrategyFastForward = "fast-forward"
	StrategySquash      = "squash"
	StrategyThreeWay    = "three-way"
)

// Merger is the merge engine the service merges through (the git service's, wired by the
// server). Mergeable answers the paths that conflict when source (at sourceCommit) is merged into
// dest (at destCommit) with strategy, none when it merges cleanly. Merge makes the merge and
// moves the destination branch by one compare-and-swap from in.DestinationCommit, answering the
// new head of the destination, or the conflicting paths (then nothing moved).
type Merger interface {
	Mergeable(ctx context.Context, repo, source, dest, sourceCommit, destCommit, strategy string) (conflicts []string, err error)
	Merge(ctx context.Context, in MergeInput) (commit string, conflicts []string, err error)
}

// MergeInput is one merge: Source into Destination (branch names) of Repo, at the commits the
// caller saw, with Strategy; Message is the commit message of a squash or three-way merge, the
// author and committer the merging user.
type MergeInput struct {
	Repo              string
	Source            string
	Destination       string
	SourceCommit      string
	DestinationCommit string
	Strategy          string
	Message           string
	AuthorName        string
	AuthorEmail       string
}

// Module is the pull-request service's registration. Its exported fields are settings the server
// sets after New, before Register.
type Module struct {
	// Merger merges pull requests; nil answers merges 503 (not available). Set it before the
	// server starts; SetMerger changes it later.
	Merger Merger
	// Groups answers the groups a user is in (the identity service's), for approval pools that
	// name groups; nil: group entries match no one.
	Groups func(user string) []string

	git    *git.Module
	core   *module.Core
	merger atomic.Pointer[Merger]
}

// SetMerger changes the merge engine of a running server (nil: merging not available).
func (m *Module) SetMerger(mg Merger) {
	if mg == nil {
		m.merger.Store(nil)
		return
	}
	m.merger.Store(&mg)
}

// mergerOf is the merge engine now, nil when there is none.
func (m *Module) mergerOf() Merger {
	if p := m.merger.Load(); p != nil {
		return *p
	}
	return nil
}

// New returns the service over the git service repos.
func New(repos *git.Module) *Module { return &Module{git: repos} }

// Name implements module.Module.
func (*Module) Name() string { return "review" }

// Register implements module.Module.
func (m *Module) Register(r *module.Registry, core *module.Core) {
	m.core = core
	m.SetMerger(m.Merger)
	r.Commands(commandRange)
	module.Handle(r, cmdCreate, applyCreate)
	module.Handle(r, cmdUpdate, applyUpdate)
	module.Handle(r, cmdStatus, applyStatus)
	module.Handle(r, cmdRevise, applyRevise)
	module.Handle(r, cmdComment, applyComment)
	module.Handle(r, cmdCommentUpdate, applyCommentUpdate)
	module.Handle(r, cmdCommentDelete, applyCommentDelete)
	module.Handle(r, cmdMerge, applyMerge)
	module.Handle(r, cmdApproval, applyApproval)
	module.Handle(r, cmdRule, applyRule)
	module.Handle(r, cmdMergeable, applyMergeable)
	module.Handle(r, cmdOverride, applyOverride)
	module.Handle(r, cmdTemplateCreate, applyTemplateCreate)
	module.Handle(r, cmdTemplateUpdate, applyTemplateUpdate)
	module.Handle(r, cmdTemplateDelete, applyTemplateDelete)
	module.Handle(r, cmdTemplateAssociate, applyTemplateAssociate)
	module.Handle(r, cmdTemplateDisassociate, applyTemplateDisassociate)
	r.Buckets(bucketPRs, bucketComments, bucketRepos, bucketMeta)
	r.Buckets(bucketTemplates, bucketTemplateRepos)
	r.ShareActions("codecommit")
	r.Routes(m.routes()...)
	r.Routes(m.templateRoutes()...)
	r.Leader("revisions", m.watchPushes)
}

// Service is the service's Go API over the module.
func (m *Module) Service() *Service { return &Service{m: m} }
