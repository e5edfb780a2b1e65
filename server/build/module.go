// Package build is the build service (issue 20, CodeBuild's): build projects and their builds in
// the replicated state, the commands that change them (1700-1799), the Go API (Projects and
// Builds) and /v1/build-projects and /v1/builds, authorized by CodeBuild's action names on
// project/NAME. A build is recorded QUEUED with everything a worker needs to run it (the
// resolved commit, the buildspec, the environment with secret variables as references); the
// scheduler and the agents' build workers that take queued builds are the next step (DESIGN.md
// says how they will). The service reads repositories only through the Sources it is given (the
// git service's, wired by the server).
package build

import (
	"context"
	"io"
	"time"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/module"
)

// commandRange is the block of command numbers the service owns.
var commandRange = command.Range{First: 1700, Last: 1799}

// Sources is how the service reads the repositories its projects build (the git service's,
// wired by the server: builds do not import git). Check answers whether repository repo exists
// (fault.NotFound when not). Resolve answers the commit version names in repo: a branch, a tag
// or a full commit ID that exists ("" is the default branch); an unknown version is
// fault.NotFound.
type Sources interface {
	Check(ctx context.Context, repo string) error
	Resolve(ctx context.Context, repo, version string) (commit string, err error)
	// Archive writes a tar of commit's files in repo to w (git archive), for a build's agent.
	Archive(ctx context.Context, repo, commit string, w io.Writer) error
	// ReadFile answers file path of repo at commit, refusing one over max bytes
	// (fault.TooLarge) and a path that is not a file of the commit (fault.NotFound), for a
	// batch build's buildspec.
	ReadFile(ctx context.Context, repo, commit, path string, max int64) ([]byte, error)
}

// Module is the build service's registration. Its exported fields are settings the server sets
// after New, before Register.
type Module struct {
	// Sources reads repositories; nil refuses projects and builds of SLIPWAY_REPO sources
	// (503, not available).
	Sources Sources
	// RoleExists answers whether the identity service has a role of that name, for a project's
	// service_role; nil: the role is stored unchecked (it is checked when a build reads
	// secrets under it).
	RoleExists func(name string) bool
	// Secrets reads the secret values a build's agent asks for (the secrets service's); nil
	// answers such requests 503.
	Secrets Secrets
	// ExpiryInterval is how often the leader looks for builds past their queued timeout
	// (default 30 s).
	ExpiryInterval time.Duration
	// RoleSessions issues the role sessions builds use for git (git-credential-helper) and
	// revokes them when the build ends; nil answers such requests 503.
	RoleSessions RoleSessions
	// Statuses sets the commit statuses of the commits builds run (finish.go); nil: none.
	Statuses Statuses

	core  *module.Core
	blobs blobStore // tests' blob store; nil: core.Blobs
}

// New returns the build service; set Sources before the server starts.
func New() *Module { return &Module{} }

// Name implements module.Module.
func (*Module) Name() string { return "build" }

// Register implements module.Module.
func (m *Module) Register(r *module.Registry, core *module.Core) {
	m.core = core
	r.Commands(commandRange)
	r.Actions("codebuild")
	module.Handle(r, cmdProjectCreate, applyProjectCreate)
	module.Handle(r, cmdProjectUpdate, applyProjectUpdate)
	module.Handle(r, cmdProjectDelete, applyProjectDelete)
	module.Handle(r, cmdStart, applyStart)
	module.Handle(r, cmdStop, applyStop)
	module.Handle(r, cmdQueueTimeout, applyQueueTimeout)
	// Running builds (DESIGN.md, "Running builds"): the scheduler, the agents' work, the
	// leader's end of silent and overdue builds, the agents' routes.
	module.Handle(r, cmdAssign, applyAssign)
	module.Handle(r, cmdReport, applyReport)
	module.Handle(r, cmdFail, applyFail)
	module.Handle(r, cmdGitToken, applyGitToken)
	r.AgentWork(agentWork{core})
	r.Routes(m.agentRoutes()...)
	r.Leader("scheduler", m.schedule)
	r.Leader("running-timeout", m.watchRunning)
	// The read side of running builds: logs, artifacts, reports, commit statuses (finish.go).
	module.Handle(r, cmdFinish, applyFinish)
	r.Routes(m.readRoutes()...)
	r.Leader("finish", m.finishTask)
	r.Buckets(bucketProjects, bucketCounters, bucketBuilds, bucketByProject, bucketHistory, bucketQueue, bucketMeta,
		bucketByHost, bucketLogs, bucketReports, bucketFinish)
	r.Routes(m.routes()...)
	r.Leader("queued-timeout", m.expireQueued)
	// Batch builds (batch.go).
	module.Handle(r, cmdBatchStart, applyBatchStart)
	module.Handle(r, cmdBatchStop, applyBatchStop)
	r.Buckets(bucketBatches, bucketBatchesByProject, bucketBatchHistory)
	r.Routes(m.batchRoutes()...)
}

// Projects is the Go API of build projects.
func (m *Module) Projects() *Projects { return &Projects{m: m} }

// Builds is the Go API of builds.
func (m *Module) Builds() *Builds { return &Builds{m: m} }
