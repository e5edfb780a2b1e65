package git

import (
	"context"
	"net/http"
	"sort"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git/gitproto"
)

// protectRoutes are branch protection's and commit statuses' endpoints, authorized by
// CodeCommit-style action names on repo/{name}.
func (m *Module) protectRoutes() []api.Route {
	return []api.Route{
		{Method: "GET", Pattern: "/v1/repos/{name}/protections", Access: api.AnyToken, Action: "codecommit:GetBranchProtection", Resource: "repo/{name}", Handle: m.listProtections},
		{Method: "GET", Pattern: "/v1/repos/{name}/protections/{pattern...}", Access: api.AnyToken, Action: "codecommit:GetBranchProtection", Resource: "repo/{name}", Handle: m.getProtection},
		{Method: "PUT", Pattern: "/v1/repos/{name}/protections/{pattern...}", Access: api.Management, Action: "codecommit:PutBranchProtection", Resource: "repo/{name}", Handle: m.putProtection},
		{Method: "DELETE", Pattern: "/v1/repos/{name}/protections/{pattern...}", Access: api.Management, Action: "codecommit:DeleteBranchProtection", Resource: "repo/{name}", Handle: m.deleteProtection},
		{Method: "POST", Pattern: "/v1/repos/{name}/commits/{commit}/statuses", Access: api.Management, Action: "codecommit:PutCommitStatus", Resource: "repo/{name}", Handle: m.putStatus},
		{Method: "GET", Pattern: "/v1/repos/{name}/commits/{commit}/statuses", Access: api.AnyToken, Action: "codecommit:GetCommitStatuses", Resource: "repo/{name}", Handle: m.getStatuses},
	}
}

// Protect creates or replaces the branch protection rule of p.Pattern on repository name.
func (s *Repos) Protect(ctx context.Context, name string, p pub.BranchProtection) (pub.BranchProtection, error) {
	rule := Protection{Pattern: p.Pattern, NoForcePush: p.NoForcePush, NoDelete: p.NoDelete, RequirePR: p.RequirePR,
		PushPrincipals: p.PushPrincipals, RequiredStatuses: p.RequiredStatuses}
	if err := validateProtection(rule); err != nil {
		return pub.BranchProtection{}, err
	}
	res, err := command.Propose(ctx, s.core.Cluster, cmdProtect, s.core.Now(), ProtectPayload{Name: name, Rule: rule})
	if err != nil {
		return pub.BranchProtection{}, err
	}
	out, err := command.Data[Protection](res)
	return protectionView(out), err
}

// Unprotect removes the rule of pattern; an unknown one is fault.NotFound.
func (s *Repos) Unprotect(ctx context.Context, name, pattern string) error {
	if err := validatePattern(pattern); err != nil {
		return err
	}
	_, err := command.Propose(ctx, s.core.Cluster, cmdUnprotect, s.core.Now(), UnprotectPayload{Name: name, Pattern: pattern})
	return err
}

// Protections returns a repository's rules in pattern order, from this server's state.
func (s *Repos) Protections(_ context.Context, name string) ([]pub.BranchProtection, error) {
	var rules []Protection
	err := s.core.State.View(func(tx *state.Tx) error {
		r, err := mustNamed(tx, name)
		if err != nil {
			return err
		}
		rules, err = protections(tx, r.ID)
		return err
	})
	out := make([]pub.BranchProtection, 0, len(rules))
	for _, r := range rules {
		out = append(out, protectionView(r))
	}
	return out, err
}

// SetStatus adds a status to commit of repository name; creator is shown with it.
func (s *Repos) SetStatus(ctx context.Context, name, commit, creator string, req pub.CommitStatusRequest) (pub.CommitStatus, error) {
	p := StatusPayload{Name: name, Commit: commit, State: req.State, Context: req.Context, Description: req.Description, TargetURL: req.TargetURL, Creator: creator}
	if err := validateStatus(p); err != nil {
		return pub.CommitStatus{}, err
	}
	res, err := command.Propose(ctx, s.core.Cluster, cmdStatus, s.core.Now(), p)
	if err != nil {
		return pub.CommitStatus{}, err
	}
	out, err := command.Data[Status](res)
	return statusView(out), err
}

// Statuses returns a commit's statuses (oldest first), the latest per context and the combined
// state, from this server's state.
func (s *Repos) Statuses(_ context.Context, name, commit string) (pub.CommitStatuses, error) {
	if !isObjectID(commit) {
		return pub.CommitStatuses{}, fault.New(fault.Invalid, "commit %q is not a full commit ID (40 lowercase hex digits)", state.Shorten(commit))
	}
	var list []Status
	err := s.core.State.View(func(tx *state.Tx) error {
		r, err := mustNamed(tx, name)
		if err != nil {
			return err
		}
		list, err = commitStatuses(tx, r.ID, commit)
		return err
	})
	if err != nil {
		return pub.CommitStatuses{}, err
	}
	latest := map[string]Status{}
	out := pub.CommitStatuses{Commit: commit, Statuses: make([]pub.CommitStatus, 0, len(list)), Latest: []pub.CommitStatus{}}
	for _, st := range list {
		latest[st.Context] = st
		out.Statuses = append(out.Statuses, statusView(st))
	}
	for _, st := range latest {
		out.Latest = append(out.Latest, statusView(st))
	}
	sort.Slice(out.Latest, func(i, j int) bool { return out.Latest[i].Context < out.Latest[j].Context })
	out.State = CombinedState(latest)
	return out, nil
}

func protectionView(r Protection) pub.BranchProtection {
	return pub.BranchProtection{Pattern: r.Pattern, NoForcePush: r.NoForcePush, NoDelete: r.NoDelete, RequirePR: r.RequirePR,
		PushPrincipals: r.PushPrincipals, RequiredStatuses: r.RequiredStatuses, CreateIndex: r.CreateIndex, ModifyIndex: r.ModifyIndex, ModifyTime: r.ModifyTime}
}

func statusView(s Status) pub.CommitStatus {
	return pub.CommitStatus{Commit: s.Commit, State: s.State, Context: s.Context, Description: s.Description, TargetURL: s.TargetURL,
		Creator: s.Creator, CreateIndex: s.CreateIndex, CreateTime: s.CreateTime}
}

func checkRepoName(name string) error {
	if err := gitproto.ValidateRepoName(name); err != nil {
		return fault.New(fault.Invalid, "%v", err)
	}
	return nil
}

func (m *Module) listProtections(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(r *http.Request) (pub.BranchProtectionList, error) {
		if err := checkRepoName(r.PathValue("name")); err != nil {
			return pub.BranchProtectionList{}, err
		}
		list, err := m.Repos().Protections(r.Context(), r.PathValue("name"))
		return pub.BranchProtectionList{Protections: list}, err
	})(w, r, id)
}

func (m *Module) getProtection(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(r *http.Request) (pub.BranchProtection, error) {
		name, pattern := r.PathValue("name"), r.PathValue("pattern")
		if err := checkRepoName(name); err != nil {
			return pub.BranchProtection{}, err
		}
		list, err := m.Repos().Protections(r.Context(), name)
		if err != nil {
			return pub.BranchProtection{}, err
		}
		for _, p := range list {
			if p.Pattern == pattern {
				return p, nil
			}
		}
		return pub.BranchProtection{}, fault.New(fault.NotFound, "repository %s has no protection rule for %s", name, state.Shorten(pattern))
	})(w, r, id)
}

// putProtection takes the pattern from the path; a body's pattern, when set, must agree.
func (m *Module) putProtection(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusOK, func(ctx context.Context, r *http.Request, req pub.BranchProtection) (pub.BranchProtection, error) {
		pattern := r.PathValue("pattern")
		if req.Pattern != "" && req.Pattern != pattern {
			return pub.BranchProtection{}, fault.New(fault.Invalid, "the body's pattern %q differs from the path's %q: give one", state.Shorten(req.Pattern), state.Shorten(pattern))
		}
		req.Pattern = pattern
		return m.Repos().Protect(ctx, r.PathValue("name"), req)
	})(w, r, id)
}

func (m *Module) deleteProtection(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Remove(m.core.HTTP, func(ctx context.Context, r *http.Request) error {
		return m.Repos().Unprotect(ctx, r.PathValue("name"), r.PathValue("pattern"))
	})(w, r, id)
}

func (m *Module) putStatus(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusCreated, func(ctx context.Context, r *http.Request, req pub.CommitStatusRequest) (pub.CommitStatus, error) {
		creator := ""
		if c := command.CallerFrom(ctx); c != nil {
			creator = c.Name
		}
		return m.Repos().SetStatus(ctx, r.PathValue("name"), r.PathValue("commit"), creator, req)
	})(w, r, id)
}

func (m *Module) getStatuses(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(r *http.Request) (pub.CommitStatuses, error) {
		if err := checkRepoName(r.PathValue("name")); err != nil {
			return pub.CommitStatuses{}, err
		}
		return m.Repos().Statuses(r.Context(), r.PathValue("name"), r.PathValue("commit"))
	})(w, r, id)
}
