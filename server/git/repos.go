package git

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git/gitproto"
)

// Repos is the Go API of the git service's repositories: HTTP handlers, the console and other
// services call it so that the rules live once. Writes propose a command under ctx (which
// carries the request's idempotency key and caller, see api.Kit.WriteContext) and answer once it
// is applied; reads look at this server's state (callers make them consistent first when they
// must, see api.Kit.ReadBarrier). Answers leave the clone URLs empty: they depend on the address
// a request came to (the HTTP handlers fill them in).
type Repos struct{ core *module.Core }

// Create creates a repository. A name in use, and a new repository when the cluster holds
// MaxRepos, are conflicts.
func (s *Repos) Create(ctx context.Context, req pub.RepositoryCreateRequest) (pub.Repository, error) {
	if req.DefaultBranch == "" {
		req.DefaultBranch = DefaultBranch
	}
	if err := validateMeta(req.Name, req.Description, req.DefaultBranch, req.Tags); err != nil {
		return pub.Repository{}, err
	}
	res, err := command.Propose(ctx, s.core.Cluster, cmdCreate, s.core.Now(), CreatePayload{
		ID: newID(), Name: req.Name, Description: req.Description, DefaultBranch: req.DefaultBranch, Tags: req.Tags,
	})
	return answer(res, err)
}

// Get returns a repository by name; an unknown name is not found. A repository created just
// before through another server is found (module.Core.ReadYourWrites).
func (s *Repos) Get(ctx context.Context, name string) (pub.Repository, error) {
	if err := gitproto.ValidateRepoName(name); err != nil {
		return pub.Repository{}, fault.New(fault.Invalid, "%v", err)
	}
	var r Record
	err := s.core.ReadYourWrites(ctx, func() error {
		var err error
		r, err = s.record(name)
		return err
	})
	if err != nil {
		return pub.Repository{}, err
	}
	return view(r), nil
}

// List returns a page of repositories in name order and the cursor of the next page ("" at the
// end).
func (s *Repos) List(_ context.Context, page api.Page) ([]pub.Repository, string, error) {
	var list []Record
	var next string
	err := s.core.State.View(func(tx *state.Tx) error {
		var err error
		list, next, err = listRecords(tx, page.After, page.Limit)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	out := make([]pub.Repository, 0, len(list))
	for _, r := range list {
		out = append(out, view(r))
	}
	return out, next, nil
}

// Update changes a repository's metadata (each field of req that is set) and returns it as
// changed. A rename keeps the repository's ID, refs and history; a new name in use is a
// conflict.
func (s *Repos) Update(ctx context.Context, name string, req pub.RepositoryUpdateRequest) (pub.Repository, error) {
	p := UpdatePayload{Name: name, NewName: req.Name, Description: req.Description, DefaultBranch: req.DefaultBranch}
	if req.Tags != nil {
		t := maps.Clone(*req.Tags)
		p.Tags = &t
	}
	res, err := command.Propose(ctx, s.core.Cluster, cmdUpdate, s.core.Now(), p)
	return answer(res, err)
}

// Delete deletes a repository with its refs and pack records; an unknown name is not found.
func (s *Repos) Delete(ctx context.Context, name string) error {
	_, err := command.Propose(ctx, s.core.Cluster, cmdDelete, s.core.Now(), DeletePayload{Name: name})
	return err
}

// Refs returns a repository's refs as the replicated state holds them: refname → object ID.
func (s *Repos) Refs(_ context.Context, name string) (map[string]string, error) {
	var out map[string]string
	var ok bool
	err := s.core.State.View(func(tx *state.Tx) error {
		r, found, err := recordByName(tx, name)
		if found {
			out = refs(tx, r.ID)
		}
		ok = found
		return err
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fault.New(fault.NotFound, "repository %s not found", state.Shorten(name))
	}
	return out, nil
}

func answer(res command.Result, err error) (pub.Repository, error) {
	if err != nil {
		return pub.Repository{}, err
	}
	r, err := command.Data[Record](res)
	if err != nil {
		return pub.Repository{}, err
	}
	return view(r), nil
}

func view(r Record) pub.Repository {
	return pub.Repository{
		ID: r.ID, Name: r.Name, Description: r.Description, DefaultBranch: r.DefaultBranch, Tags: r.Tags,
		CreateIndex: r.CreateIndex, ModifyIndex: r.ModifyIndex, CreateTime: r.CreateTime, ModifyTime: r.ModifyTime,
	}
}

// newID is a new repository ID: 16 random bytes in hex, chosen by the proposer.
func newID() string {
	var b [repoIDLen / 2]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
