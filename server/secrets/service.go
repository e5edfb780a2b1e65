package secrets

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/keyring"
	"github.com/slipwayhq/slipway/server/core/state"
)

// The actions of the store's routes (AWS Secrets Manager's names) and the resource they act on,
// "secret/NAME" (srn:slipway:secretsmanager:secret/NAME).
const (
	ActionPutSecretValue = "secretsmanager:PutSecretValue"
	ActionDescribeSecret = "secretsmanager:DescribeSecret"
	ActionGetSecretValue = "secretsmanager:GetSecretValue"
	ActionListSecrets    = "secretsmanager:ListSecrets"
	ActionDeleteSecret   = "secretsmanager:DeleteSecret"
)

// Resource is the resource name of a secret under its actions' service.
func Resource(name string) string { return "secret/" + name }

// putAttempts bounds how often Put seals again when another write to the same secret came
// between its read and its apply (the version it sealed for was taken). Puts of one name on one
// server wait for each other (Module.putLock), so only writers on other servers can take it;
// between attempts Put waits a random while of up to putBackoff doubled each time (at most
// maxPutBackoff), so that a writer far from the leader is not always the one that loses.
const (
	putAttempts   = 32
	putBackoff    = 2 * time.Millisecond
	maxPutBackoff = 100 * time.Millisecond
)

// Service is the Go API of the secrets store: the HTTP handlers and, later, the build service go
// through it, so the rules live once. Writes propose a command under ctx (which carries the
// request's idempotency key, see api.Kit.WriteContext) and answer once it is applied; Get and
// List read this server's state (callers make them consistent first when they must, see
// api.Kit.ReadBarrier); Value reads through a read barrier, so a value just rotated is never
// read stale.
type Service struct{ m *Module }

// PutOptions are a put's optional parts. Description nil keeps the secret's. CAS (nil:
// unconditional) is a precondition on the version: 0 writes only a secret that does not exist,
// N only one whose version is N.
type PutOptions struct {
	Description *string
	CAS         *uint64
}

// Put seals value under the cluster's active data key, on this server, and proposes it as the
// secret's next version; it returns the metadata as written. The plaintext never enters the
// Raft log, a snapshot or the state. A failed precondition, and a new secret when the store holds
// MaxSecrets, are conflicts; a value over MaxValueLen is too large.
func (s *Service) Put(ctx context.Context, name string, value []byte, o PutOptions) (pub.Secret, error) {
	if err := ValidateName(name); err != nil {
		return pub.Secret{}, err
	}
	if err := validateValue(name, value); err != nil {
		return pub.Secret{}, err
	}
	if o.Description != nil {
		if err := validateDescription(*o.Description); err != nil {
			return pub.Secret{}, err
		}
	}
	core := s.m.core
	mu := s.m.putLock(name)
	mu.Lock()
	defer mu.Unlock()
	rid := command.RequestIDFrom(ctx)
	var err error
	for attempt := 0; attempt < putAttempts; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return pub.Secret{}, err
			}
		}
		if attempt > 0 && rid != "" {
			// A retried request (the same idempotency key) walks the same ids, so it is answered
			// with the first outcome of each attempt.
			ctx = command.WithRequestID(ctx, rid+"/attempt-"+strconv.Itoa(attempt))
		}
		if err := core.Cluster.ConsistentRead(ctx); err != nil {
			return pub.Secret{}, err
		}
		var cur Secret
		var exists bool
		if err := core.State.View(func(tx *state.Tx) error {
			var err error
			cur, exists, err = getSecret(tx, name)
			return err
		}); err != nil {
			return pub.Secret{}, err
		}
		p := PutPayload{Name: name, ID: cur.ID, Version: cur.Version + 1, Description: o.Description, CAS: o.CAS}
		if !exists {
			if p.ID, err = newID(); err != nil {
				return pub.Secret{}, err
			}
			p.Version = 1
		}
		if p.Sealed, err = core.Keyring.Seal(value, sealAAD(name, p.ID, p.Version)); err != nil {
			return pub.Secret{}, err
		}
		var res command.Result
		res, err = command.Propose(ctx, core.Cluster, cmdPut, core.Now(), p)
		if fault.CodeOf(err) == fault.Conflict && strings.HasSuffix(err.Error(), staleWrite) {
			core.Log.Debug("secret written by another request while sealed; sealing for the next version", "secret", name, "attempt", attempt+1)
			continue
		}
		if err != nil {
			return pub.Secret{}, err
		}
		rec, err := command.Data[Secret](res)
		if err != nil {
			return pub.Secret{}, err
		}
		rec.Sealed = p.Sealed
		return view(rec), nil
	}
	return pub.Secret{}, fault.New(fault.Conflict, "secret %s was written by others %d times while this write was being sealed: retry", state.Shorten(name), putAttempts)
}

// backoff waits a random while before the attempt-th attempt of a put (see putAttempts), or
// until ctx ends.
func backoff(ctx context.Context, attempt int) error {
	limit := min(putBackoff<<min(attempt, 16), maxPutBackoff)
	t := time.NewTimer(time.Duration(mrand.Int64N(int64(limit))))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fault.New(fault.Timeout, "secret put: %v", ctx.Err())
	}
}

// newID is the ID of a new life of a secret: 16 random bytes in hex.
func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// Get returns a secret's metadata; a missing secret is not found.
func (s *Service) Get(_ context.Context, name string) (pub.Secret, error) {
	if err := ValidateName(name); err != nil {
		return pub.Secret{}, err
	}
	rec, err := s.record(name)
	if err != nil {
		return pub.Secret{}, err
	}
	return view(rec), nil
}

func (s *Service) record(name string) (Secret, error) {
	var rec Secret
	var ok bool
	err := s.m.core.State.View(func(tx *state.Tx) error {
		var err error
		rec, ok, err = getSecret(tx, name)
		return err
	})
	if err != nil {
		return Secret{}, err
	}
	if !ok {
		return Secret{}, fault.New(fault.NotFound, "secret %s not found", state.Shorten(name))
	}
	return rec, nil
}

// List returns a page of the secrets whose name starts with prefix, in name order, metadata
// only, and the cursor of the next page ("" at the end).
func (s *Service) List(_ context.Context, prefix string, page api.Page) ([]pub.Secret, string, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return nil, "", err
	}
	var list []Secret
	var next string
	err := s.m.core.State.View(func(tx *state.Tx) error {
		var err error
		list, next, err = listSecrets(tx, prefix, page.After, page.Limit)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	out := make([]pub.Secret, 0, len(list))
	for _, rec := range list {
		out = append(out, view(rec))
	}
	return out, next, nil
}

// Delete deletes a secret; a missing one is not found. cas (nil: unconditional) is a
// precondition: the secret's version must still be *cas, which cannot be 0.
func (s *Service) Delete(ctx context.Context, name string, cas *uint64) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if cas != nil && *cas == 0 {
		return fault.New(fault.Invalid, "cas=0 means create only, which a delete cannot be: give the secret's version")
	}
	_, err := command.Propose(ctx, s.m.core.Cluster, cmdDelete, s.m.core.Now(), DeletePayload{Name: name, CAS: cas})
	return err
}

// Reader is who reads a secret's value through Value, and from where: the identity whose
// policies decide (a person's or program's token on the API; for a build, the identity of its
// project's principal, whose policies bound what its builds may read), the origin the policy's
// context keys (slipway:SourceIp, slipway:SecureTransport) see, and the request id that names
// the read in the audit trail ("" for a new one).
type Reader struct {
	Identity  *auth.Identity
	Origin    api.Origin
	RequestID string
}

// Value returns a secret's current value, decrypted on this server, if rd's policies allow
// secretsmanager:GetSecretValue on secret/NAME: the same decision the API edge makes
// (api.Kit.AuthorizeFrom), so an HTTP caller and the build service are held to one rule. Every
// call is recorded in the audit trail (allowed, denied or failed, with the version read and
// never the value). The read is linearizable: a value just replaced is not read stale.
func (s *Service) Value(ctx context.Context, name string, rd Reader) (pub.SecretValue, error) {
	if err := ValidateName(name); err != nil {
		return pub.SecretValue{}, err
	}
	core := s.m.core
	resource := api.SRN(ActionGetSecretValue, Resource(name))
	rec := audit.Record{Time: core.Now().UTC(), Action: ActionGetSecretValue, Resource: resource, RequestID: rd.RequestID}
	if rd.Origin.Addr.IsValid() {
		rec.Source = rd.Origin.Addr.String()
	}
	if rec.RequestID == "" {
		rec.RequestID = core.HTTP.NewRequestID()
	}
	v, err := s.value(ctx, name, rd, &rec)
	switch fault.CodeOf(err) {
	case "":
		rec.Outcome, rec.Detail = audit.OutcomeAllowed, "version "+strconv.FormatUint(v.Version, 10)
	case fault.Forbidden:
		rec.Outcome, rec.ErrorCode = audit.OutcomeDenied, string(fault.Forbidden)
	default:
		rec.Outcome, rec.ErrorCode = audit.OutcomeFailed, string(fault.CodeOf(err))
	}
	core.HTTP.Audit(rec)
	return v, err
}

func (s *Service) value(ctx context.Context, name string, rd Reader, rec *audit.Record) (pub.SecretValue, error) {
	core := s.m.core
	if rd.Identity == nil {
		rec.Principal = audit.Principal{Kind: audit.KindAnonymous}
		return pub.SecretValue{}, fault.New(fault.Forbidden, "not allowed: %s on %s (no identity)", ActionGetSecretValue, rec.Resource)
	}
	principal, err := core.HTTP.AuthorizeFrom(rd.Origin, rd.Identity, ActionGetSecretValue, Resource(name))
	rec.Principal = principal
	if err != nil {
		return pub.SecretValue{}, err
	}
	if err := core.Cluster.ConsistentRead(ctx); err != nil {
		return pub.SecretValue{}, err
	}
	sec, err := s.record(name)
	if err != nil {
		return pub.SecretValue{}, err
	}
	plain, err := core.Keyring.Open(sec.Sealed, sealAAD(sec.Name, sec.ID, sec.Version))
	if err != nil {
		return pub.SecretValue{}, err
	}
	return pub.SecretValue{Name: sec.Name, Version: sec.Version, Value: plain}, nil
}

func view(s Secret) pub.Secret {
	return pub.Secret{Name: s.Name, ID: s.ID, Description: s.Description, Version: s.Version, KeyID: keyring.SealedKeyID(s.Sealed),
		CreateIndex: s.CreateIndex, ModifyIndex: s.ModifyIndex, CreateTime: s.CreateTime, ModifyTime: s.ModifyTime,
		CreatedBy: s.CreatedBy, ModifiedBy: s.ModifiedBy}
}
