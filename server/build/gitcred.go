package build

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// RoleSessions issues and revokes the role sessions builds act as (the identity service's,
// wired by the server: builds do not import acl). Issue answers a token of type role for role,
// named name, whose Source is source, expiring after d (at most the role's max session); it
// checks no trust: the service acts as the role its project was configured with. Revoke
// deletes a token by accessor; a token already gone is fault.NotFound.
type RoleSessions interface {
	Issue(ctx context.Context, role, name, source string, d time.Duration) (pub.RoleCredentials, error)
	Revoke(ctx context.Context, accessor string) error
}

// MaxGitTokens bounds the git credentials one build is issued (an agent asks once; a retry
// after a lost answer asks again).
const MaxGitTokens = 8

// minGitToken is the least lifetime of a build's git credential.
const minGitToken = time.Minute

// cmdGitToken records on a build the accessor of a git credential issued to it, so that the
// build's end revokes it (finish.go). Its number is part of the Raft log format.
var cmdGitToken = command.Define[GitTokenPayload](1716, "build.git_token", 1)

// GitTokenPayload records Accessor on build ID, in progress on host Host. Apply refuses it
// (Conflict) unless the build is still in progress on that host and has fewer than
// MaxGitTokens: the proposer then revokes the token itself.
type GitTokenPayload struct {
	ID       string `json:"id"`
	Host     string `json:"host"`
	Accessor string `json:"accessor"`
}

func applyGitToken(tx *state.Tx, index uint64, _ *command.Command, p GitTokenPayload) (any, error) {
	if p.Accessor == "" || len(p.Accessor) > 64 {
		return nil, fault.New(fault.Invalid, "build.git_token needs an accessor of at most 64 bytes")
	}
	b, err := mustBuild(tx, p.ID)
	if err != nil {
		return nil, err
	}
	if !b.runsOnOrStopping(p.Host) {
		return nil, fault.New(fault.Conflict, "build %s is not in progress on host %s", b.ID, state.Shorten(p.Host))
	}
	if slices.Contains(b.GitTokens, p.Accessor) {
		return b, nil
	}
	if len(b.GitTokens) >= MaxGitTokens {
		return nil, fault.New(fault.Conflict, "build %s was issued %d git credentials already, the most one build gets", b.ID, MaxGitTokens)
	}
	b.GitTokens = append(b.GitTokens, p.Accessor)
	b.ModifyIndex = index
	return b, state.Put(tx, bucketBuilds, b.ID, b)
}

// agentGitCredential issues the build a role session of its project's service role, for git
// commands the build runs (buildspec env git-credential-helper: yes): the token's policies are
// the role's (codecommit:GitPull on the repositories it may read...), it is named for the build,
// its Source is "build/PROJECT:UUID", it expires when the build would time out (at most the
// role's max session), and it is recorded on the build so that the build's end revokes it. A
// project without a service role is 403.
func (m *Module) agentGitCredential(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	b, err := m.runningOn(r, id)
	if err != nil {
		return err
	}
	if b.ServiceRole == "" {
		return fault.New(fault.Forbidden, "build project %s has no service role, so its builds get no git credentials: set service_role to a role allowed codecommit:GitPull on the repositories they clone (`slipway project update %s --service-role ROLE`)", b.Project, b.Project)
	}
	if m.RoleSessions == nil {
		return fault.New(fault.Unavailable, "this server issues no role sessions")
	}
	if len(b.GitTokens) >= MaxGitTokens {
		return fault.New(fault.Conflict, "build %s was issued %d git credentials already, the most one build gets", b.ID, MaxGitTokens)
	}
	d := max(time.Until(b.RunningDeadline()), minGitToken)
	// No idempotency key: each ask issues a fresh token (an answer replayed from a request ID
	// could not carry the secret again); the writes are bounded as a write's wait is.
	ctx, cancel := m.core.HTTP.ReadContext(r)
	defer cancel()
	cr, err := m.RoleSessions.Issue(ctx, b.ServiceRole, "build "+b.ID, "build/"+b.ID, d)
	if err != nil {
		return err
	}
	if _, err := command.Propose(ctx, m.core.Cluster, cmdGitToken, m.core.Now(), GitTokenPayload{ID: b.ID, Host: id.Host.ID, Accessor: cr.Accessor}); err != nil {
		// Not recorded, so the build's end would not revoke it: revoke it now.
		rv, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if rerr := m.RoleSessions.Revoke(rv, cr.Accessor); rerr != nil && fault.CodeOf(rerr) != fault.NotFound {
			m.core.Log.Warn("revoke a git credential not recorded on its build", "build", b.ID, "accessor", cr.Accessor, "error", rerr)
		}
		return err
	}
	m.core.Log.Info("build git credential issued", "build", b.ID, "role", b.ServiceRole, "accessor", cr.Accessor, "expires", cr.Expiration)
	w.Header().Set("Cache-Control", "no-store")
	m.core.HTTP.JSON(w, http.StatusOK, agentproto.BuildGitCredential{Token: cr.Secret, Accessor: cr.Accessor, Role: cr.Role, Expiration: cr.Expiration})
	return nil
}

// revokeGitTokens revokes the git credentials issued to an ended build (a token already gone,
// revoked or expired, is fine).
func (m *Module) revokeGitTokens(ctx context.Context, b Build) error {
	if len(b.GitTokens) == 0 {
		return nil
	}
	if m.RoleSessions == nil {
		return fault.New(fault.Unavailable, "this server cannot revoke the git credentials of build %s", b.ID)
	}
	for _, a := range b.GitTokens {
		if err := m.RoleSessions.Revoke(ctx, a); err != nil && fault.CodeOf(err) != fault.NotFound {
			return err
		}
	}
	return nil
}
