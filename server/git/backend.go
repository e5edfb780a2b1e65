package git

import (
	"context"
	"os"

	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// The types of the transport's Backend contract (server/git/transport, see the shared
// plan). They are declared here until that package exists; the lead switches them to
// transport's types, whose field names they keep exactly.

// Repo is a repository as the transport serves it: its stable ID (directory names use it, a
// rename does not move it), its current name and the path of this server's bare copy.
type Repo struct{ ID, Name, Dir string }

// RefUpdate is one ref a push changes: Old and New are 40-hex object IDs, the zero ID (40 '0')
// for a ref created (Old) or deleted (New).
type RefUpdate struct{ Ref, Old, New string }

// RefResult is one ref's outcome, in the order of the push's updates: OK, or Reason in git's
// words ("fetch first" for a failed compare-and-swap).
type RefResult struct {
	Ref    string
	OK     bool
	Reason string
}

// Push is one push's ref updates, committed as one replicated command.
type Push struct {
	Repo    Repo
	Pack    string // sha256 of the pack blob StorePack stored ("" when the push brought no objects)
	Updates []RefUpdate
	Atomic  bool           // all or nothing (git push --atomic)
	Caller  *auth.Identity // who pushes, for the audit trail and the command's caller
}

// Backend is the module's side of the transport contract: the transport resolves, stores packs
// and proposes pushes through it.
type Backend struct{ m *Module }

// Backend returns the module's implementation of the transport's Backend.
func (m *Module) Backend() *Backend { return &Backend{m: m} }

// Repo resolves a repository by name once this server's bare copy has caught up with the
// replicated state as of the call (a read barrier first, so a push acknowledged through another
// server is seen), bounded by ctx. An unknown name is fault.NotFound.
func (b *Backend) Repo(ctx context.Context, name string) (Repo, error) {
	if err := b.m.core.Cluster.ConsistentRead(ctx); err != nil {
		return Repo{}, err
	}
	r, err := b.m.Repos().record(name)
	if err != nil {
		return Repo{}, err
	}
	if err := b.m.replica.WaitSynced(ctx, r.ID); err != nil {
		return Repo{}, err
	}
	return Repo{ID: r.ID, Name: r.Name, Dir: b.m.replica.Dir(r.ID)}, nil
}

// StorePack stores the pack file at path as a quorum-replicated blob and returns its sha256.
// A pack over the module's MaxPackSize is fault.TooLarge and stores nothing.
func (b *Backend) StorePack(ctx context.Context, repo Repo, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fault.New(fault.Internal, "open the pack of a push to %s: %v", repo.Name, err)
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return "", fault.New(fault.Internal, "stat the pack of a push to %s: %v", repo.Name, err)
	}
	if limit := b.m.MaxPackSize; st.Size() > limit {
		return "", fault.New(fault.TooLarge, "the push's pack is %d bytes, over the limit of %d bytes per push: push fewer or smaller commits at a time", st.Size(), limit)
	}
	rec, err := b.m.core.Blobs.Upload(ctx, f, "", st.Size(), nil)
	if err != nil {
		return "", err
	}
	return rec.SHA256, nil
}

// Push proposes the updates as one command and returns, once it is applied on this server,
// every ref's outcome. The command carries the caller (the one ctx already carries, else one
// made from p.Caller) for the audit trail. An error means the outcome is unknown.
func (b *Backend) Push(ctx context.Context, p Push) ([]RefResult, error) {
	if command.CallerFrom(ctx) == nil && p.Caller != nil && p.Caller.Host == nil && p.Caller.HostToken == nil {
		who := api.TokenPrincipal(p.Caller.Token)
		ctx = command.WithCaller(ctx, &command.Caller{
			Kind: string(who.Kind), ID: who.ID, Name: who.Name, Action: "codecommit:GitPush", Resource: "repo/" + p.Repo.Name,
		})
	}
	payload := PushPayload{ID: p.Repo.ID, Pack: p.Pack, Atomic: p.Atomic}
	for _, u := range p.Updates {
		payload.Updates = append(payload.Updates, PushUpdate(u))
	}
	res, err := command.Propose(ctx, b.m.core.Cluster, cmdPush, b.m.core.Now(), payload)
	if err != nil {
		return nil, err
	}
	// The result's index is a state index, not a Raft one (a batch entry carries several
	// commands): a read barrier is what makes this server have applied the push.
	if err := b.m.core.Cluster.ConsistentRead(ctx); err != nil {
		return nil, err
	}
	out, err := command.Data[PushResult](res)
	if err != nil {
		return nil, err
	}
	results := make([]RefResult, 0, len(out.Results))
	for _, o := range out.Results {
		results = append(results, RefResult(o))
	}
	return results, nil
}

// record resolves a name on this server's state.
func (s *Repos) record(name string) (Record, error) {
	var r Record
	var ok bool
	err := s.core.State.View(func(tx *state.Tx) error {
		var err error
		r, ok, err = recordByName(tx, name)
		return err
	})
	if err != nil {
		return r, err
	}
	if !ok {
		return r, fault.New(fault.NotFound, "repository %s not found", state.Shorten(name))
	}
	return r, nil
}
