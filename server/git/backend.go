package git

import (
	"context"
	"os"

	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git/transport"
)

var _ transport.Backend = (*Backend)(nil)

// The transport's Backend contract (server/git/transport), which the module implements.
type (
	Repo      = transport.Repo
	RefUpdate = transport.RefUpdate
	RefResult = transport.RefResult
	Push      = transport.Push
)

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
// every ref's outcome. It is the one function every ref move goes through (the HTTP and SSH
// transport, PutFile, merges): branch protection is checked here first (checkProtection), and
// a ref a rule refuses is answered "protected branch B: WHY". The command carries the caller (the one ctx already carries, else one
// made from p.Caller) for the audit trail. An error means the outcome is unknown.
func (b *Backend) Push(ctx context.Context, p Push) ([]RefResult, error) {
	if command.CallerFrom(ctx) == nil && p.Caller != nil && p.Caller.Host == nil && p.Caller.HostToken == nil {
		who := api.TokenPrincipal(p.Caller.Token)
		ctx = command.WithCaller(ctx, &command.Caller{
			Kind: string(who.Kind), ID: who.ID, Name: who.Name, Action: "codecommit:GitPush", Resource: "repo/" + p.Repo.Name,
		})
	}
	// Branch protection, on this server's state after the caller's read barrier, before the
	// command is proposed: refused refs travel in the payload (apply rejects them with the
	// reason, so the audit record of the push names them and an atomic push applies nothing).
	refused, err := b.checkProtection(ctx, p, command.CallerFrom(ctx))
	if err != nil {
		return nil, err
	}
	payload := PushPayload{ID: p.Repo.ID, Pack: p.Pack, Atomic: p.Atomic, Options: p.Options, ViaPullRequest: p.ViaPullRequest, Refused: refused}
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
