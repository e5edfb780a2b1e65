package secrets

import (
	"context"
	"fmt"
	"time"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/keyring"
	"github.com/slipwayhq/slipway/server/core/state"
)

// resealEvery is how often the leader looks for values under an older data key besides after
// each keyring change (in case it missed one: a subscriber that falls behind is dropped).
const resealEvery = 10 * time.Minute

// resealPage is how many records one read of a pass holds.
const resealPage = 100

// resealLoop runs on the leader: after `slipway operator keyring rotate` (a keyring event), at
// the start of each leadership and every resealEvery, it reseals every secret whose value is
// sealed under another data key than the active one (Module.ResealAll), so that after a
// rotation all values move to the new key, as blob files do.
func (m *Module) resealLoop(ctx context.Context) {
	for ctx.Err() == nil {
		events, stop := m.core.Events.Subscribe(256)
		m.resealPass(ctx)
		tick := time.NewTicker(resealEvery)
		for open := true; open && ctx.Err() == nil; {
			select {
			case <-ctx.Done():
			case <-tick.C:
				m.resealPass(ctx)
			case e, ok := <-events:
				if open = ok; ok && e.Kind == "keyring" {
					m.resealPass(ctx)
				}
			}
		}
		tick.Stop()
		stop()
	}
}

func (m *Module) resealPass(ctx context.Context) {
	n, err := m.Service().ResealAll(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		m.core.Log.Warn("resealing secrets under the active data key", "resealed", n, "error", err)
	case n > 0:
		m.core.Log.Info("secrets resealed under the active data key", "resealed", n)
	}
}

// ResealAll reseals every secret whose value is sealed under another data key than the active
// one, a page at a time, and returns how many it resealed. A secret written meanwhile is left
// as it is (its new value is sealed under the key that was active then); one that cannot be
// resealed (its value does not open) is skipped, and the first such error returned at the end.
func (s *Service) ResealAll(ctx context.Context) (int, error) {
	core := s.m.core
	active := core.Keyring.ActiveID()
	if active == "" {
		return 0, nil
	}
	n, after := 0, ""
	var first error
	for {
		var page []Secret
		var next string
		if err := core.State.View(func(tx *state.Tx) error {
			var err error
			page, next, err = listSecrets(tx, "", after, resealPage)
			return err
		}); err != nil {
			return n, err
		}
		for _, sec := range page {
			if keyring.SealedKeyID(sec.Sealed) == active {
				continue
			}
			err := s.reseal(ctx, sec)
			switch {
			case err == nil:
				n++
			case ctx.Err() != nil:
				return n, ctx.Err()
			case fault.CodeOf(err) != fault.Conflict && first == nil:
				first = fmt.Errorf("secret %s: %w", state.Shorten(sec.Name), err)
			}
		}
		if next == "" {
			return n, first
		}
		after = next
	}
}

// reseal opens a secret's value and proposes it sealed under the active key, for the same name,
// ID and version.
func (s *Service) reseal(ctx context.Context, sec Secret) error {
	core := s.m.core
	aad := sealAAD(sec.Name, sec.ID, sec.Version)
	plain, err := core.Keyring.Open(sec.Sealed, aad)
	if err != nil {
		return err
	}
	sealed, err := core.Keyring.Seal(plain, aad)
	clear(plain)
	if err != nil {
		return err
	}
	_, err = command.Propose(ctx, core.Cluster, cmdReseal, core.Now(), ResealPayload{Name: sec.Name, ID: sec.ID, Version: sec.Version, Sealed: sealed})
	return err
}
