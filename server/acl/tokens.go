package acl

import (
	"context"
	"time"

	"github.com/google/uuid"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/credential"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/policy"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Tokens is the Go API of API tokens: the rules (names, types, TTLs, the one-time bootstrap)
// live here, and the HTTP routes, the console and other services call it. Writes propose a
// command under ctx (which carries the request's idempotency key, see api.Kit.WriteContext);
// reads look at this server's state (callers make them consistent first when they must).
type Tokens struct{ core *module.Core }

// Bootstrapped returns the conflict a bootstrap is refused with once this server knows the
// cluster was bootstrapped, or nil. The public bootstrap route asks it before proposing, so that
// unauthenticated callers cannot append entries to the Raft log by repeating the request.
func (t *Tokens) Bootstrapped() error {
	var at uint64
	_ = t.core.State.View(func(tx *state.Tx) error { at = tx.ACLBootstrapIndex(); return nil })
	if at != 0 {
		return fault.New(fault.Conflict, msgBootstrapped, at)
	}
	return nil
}

// Bootstrap creates the cluster's first management token and answers with it, secret included.
// It works once per cluster; later calls are a conflict.
func (t *Tokens) Bootstrap(ctx context.Context) (pub.Token, error) {
	if err := t.Bootstrapped(); err != nil {
		return pub.Token{}, err
	}
	secret := auth.NewSecret()
	p := BootstrapPayload{Token: Token{
		AccessorID: uuid.NewString(), SecretHash: auth.HashSecret(secret),
		Name: "Bootstrap Token", Type: pub.TokenTypeManagement,
	}}
	res, err := command.Propose(ctx, t.core.Cluster, CmdBootstrap, t.core.Now(), p)
	if err != nil {
		return pub.Token{}, err
	}
	return created(res, secret)
}

// Create creates a token and answers with it, secret included (shown this once). The name is a
// required label; the type defaults to client; a TTL is a positive Go duration.
func (t *Tokens) Create(ctx context.Context, req pub.TokenCreateRequest) (pub.Token, error) {
	if err := state.ValidateLabel("token name", req.Name, true); err != nil {
		return pub.Token{}, err
	}
	typ := req.Type
	if typ == "" {
		typ = pub.TokenTypeClient
	}
	if typ != pub.TokenTypeClient && typ != pub.TokenTypeManagement {
		return pub.Token{}, fault.New(fault.Invalid, "token type %q is unknown: use %q or %q", typ, pub.TokenTypeClient, pub.TokenTypeManagement)
	}
	secret := auth.NewSecret()
	p := CreateTokenPayload{Token: Token{AccessorID: uuid.NewString(), SecretHash: auth.HashSecret(secret), Name: req.Name, Type: typ}}
	if req.TTL != "" {
		ttl, err := time.ParseDuration(req.TTL)
		if err != nil || ttl <= 0 {
			return pub.Token{}, fault.New(fault.Invalid, "ttl %s is not a positive duration such as 30m, 24h or 720h", state.Shorten(req.TTL))
		}
		p.Token.ExpirationTime = t.core.Now().Add(ttl).UnixNano()
	}
	res, err := command.Propose(ctx, t.core.Cluster, CmdCreateToken, t.core.Now(), p)
	if err != nil {
		return pub.Token{}, err
	}
	return created(res, secret)
}

// List returns a page of tokens in accessor order (never their secrets) and the cursor of the
// next page ("" at the end).
func (t *Tokens) List(_ context.Context, page api.Page) ([]pub.Token, string, error) {
	var out []pub.Token
	var next string
	err := t.core.State.View(func(tx *state.Tx) error {
		list, n, err := tx.ListTokens(page.After, page.Limit)
		for _, tk := range list {
			out = append(out, View(tk))
		}
		next = n
		return err
	})
	return out, next, err
}

// Get returns one token by accessor (never its secret); a missing one is not found.
func (t *Tokens) Get(_ context.Context, accessor string) (pub.Token, error) {
	var tk state.Token
	err := t.core.State.View(func(tx *state.Tx) error {
		var err error
		tk, err = tx.GetToken(accessor)
		return err
	})
	if err != nil {
		return pub.Token{}, err
	}
	return View(tk), nil
}

// Revoke deletes a token by accessor: it authenticates nothing from the moment the command is
// applied. A missing token is not found.
func (t *Tokens) Revoke(ctx context.Context, accessor string) error {
	_, err := command.Propose(ctx, t.core.Cluster, CmdRevokeToken, t.core.Now(), RevokeTokenPayload{AccessorID: accessor})
	return err
}

// View is how the API shows a stored token: without its secret hash, its expiry to the second.
func View(tk state.Token) pub.Token {
	t := pub.Token{AccessorID: tk.AccessorID, Name: tk.Name, Type: tk.Type, Policies: tk.Policies,
		User: tk.User, Role: tk.Role, Source: tk.Source, MFA: tk.MFA, Scoped: tk.Scope != "",
		CreateTime: tk.CreateTime, CreateIndex: tk.CreateIndex}
	if tk.ExpirationTime != nil {
		exp := tk.ExpirationTime.UTC().Truncate(time.Second)
		t.ExpirationTime = &exp
	}
	return t
}

// created shows a token that this request created, secret included. When the record's hash is
// not the secret's, the command was a replay of an earlier request with the same
// Idempotency-Key, whose secret was only ever shown to that request.
func created(res command.Result, secret string) (pub.Token, error) {
	tk, err := command.Data[state.Token](res)
	if err != nil {
		return pub.Token{}, err
	}
	if tk.SecretHash != auth.HashSecret(secret) {
		return pub.Token{}, fault.New(fault.Conflict,
			"this request was already applied as token %s, whose secret was shown once and cannot be shown again: revoke it and create a new one", tk.AccessorID)
	}
	out := View(tk)
	out.SecretID = secret
	return out, nil
}

// CmdBootstrapAdmin is the bootstrap that also makes the first administrator: the management
// token, the user (with a password hash) and AdministratorAccess attached to them, in one
// command, so that the cluster is bootstrapped once with all three or not at all. Its number,
// name, schema and payload are part of the Raft log format: never change them.
var CmdBootstrapAdmin = command.Define[BootstrapAdminPayload](1290, "acl.bootstrap.admin", 1)

// BootstrapAdminPayload is the first management token and the first administrator user.
type BootstrapAdminPayload struct {
	Token Token             `json:"token"`
	User  UserCreatePayload `json:"user"`
}

// applyBootstrapAdmin checks everything before it writes (a refused command leaves the state as
// it was): not bootstrapped yet, the user name free. It returns the stored state.Token.
func applyBootstrapAdmin(tx *state.Tx, index uint64, c *command.Command, p BootstrapAdminPayload) (any, error) {
	if at := tx.ACLBootstrapIndex(); at != 0 {
		return nil, fault.New(fault.Conflict, msgBootstrapped, at)
	}
	if _, ok, err := state.Get[User](tx, bucketUsers, p.User.Name); err != nil || ok {
		if err == nil {
			err = fault.New(fault.Conflict, "user %s already exists", p.User.Name)
		}
		return nil, err
	}
	tk, err := applyBootstrap(tx, index, c, BootstrapPayload{Token: p.Token})
	if err != nil {
		return nil, err
	}
	if _, err := applyUserCreate(tx, index, c, p.User); err != nil {
		return nil, err
	}
	if _, err := applyPolicyAttach(tx, index, c, PolicyAttachPayload{Policy: policy.AdministratorAccess, Kind: KindUser, Target: p.User.Name, Attach: true}); err != nil {
		return nil, err
	}
	return tk, nil
}

// BootstrapAdmin is Bootstrap that also creates user with password and AdministratorAccess, in
// the same one-time command. The name and password are checked before anything is proposed.
func (t *Tokens) BootstrapAdmin(ctx context.Context, user, password string) (pub.Token, error) {
	if err := t.Bootstrapped(); err != nil {
		return pub.Token{}, err
	}
	if err := state.ValidateName("user name", user); err != nil {
		return pub.Token{}, err
	}
	if password == "" {
		return pub.Token{}, fault.New(fault.Invalid, "the first administrator %s needs a password (slipway acl bootstrap --user %s --password-stdin)", user, user)
	}
	if err := credential.CheckPassword(password); err != nil {
		return pub.Token{}, fault.New(fault.Invalid, "%v", err)
	}
	hash, err := hashNewPassword(password)
	if err != nil {
		return pub.Token{}, err
	}
	secret := auth.NewSecret()
	p := BootstrapAdminPayload{
		Token: Token{AccessorID: uuid.NewString(), SecretHash: auth.HashSecret(secret), Name: "Bootstrap Token", Type: pub.TokenTypeManagement},
		User:  UserCreatePayload{ID: uuid.NewString(), Name: user, PasswordHash: hash},
	}
	res, err := command.Propose(ctx, t.core.Cluster, CmdBootstrapAdmin, t.core.Now(), p)
	if err != nil {
		return pub.Token{}, err
	}
	return created(res, secret)
}
