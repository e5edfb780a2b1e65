package hooks

import (
	"context"
	"slices"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Bounded reads of a hook's deliveries for a page that shows some of them (the console): the
// API's Deliveries decodes every kept and pending delivery, up to 1,100 with their bodies.

// DeliveryPage returns up to limit of a hook's deliveries older than before ("" for the
// newest), newest first, without bodies, and the cursor of the next page ("" at the end).
func (s *Service) DeliveryPage(ctx context.Context, repo, hookID, before string, limit int) ([]pub.RepoHookDelivery, string, error) {
	if limit < 1 {
		return nil, "", fault.New(fault.Invalid, "a page of deliveries needs a limit of at least 1")
	}
	out := []pub.RepoHookDelivery{}
	next := ""
	err := s.view(ctx, repo, func(tx *state.Tx, id string) error {
		if err := mustHook(tx, repo, id, hookID); err != nil {
			return err
		}
		ids := hookDeliveryIDs(tx, hookID)
		end := len(ids)
		if before != "" {
			end, _ = slices.BinarySearch(ids, before)
		}
		for i := end - 1; i >= 0; i-- {
			if len(out) == limit {
				next = out[len(out)-1].ID
				break
			}
			if d, ok := getDelivery(tx, ids[i]); ok {
				out = append(out, deliveryView(d, false))
			}
		}
		return nil
	})
	return out, next, err
}

// Delivery returns one delivery of a hook with its attempts and its body.
func (s *Service) Delivery(ctx context.Context, repo, hookID, deliveryID string) (pub.RepoHookDelivery, error) {
	var out pub.RepoHookDelivery
	err := s.view(ctx, repo, func(tx *state.Tx, id string) error {
		if err := mustHook(tx, repo, id, hookID); err != nil {
			return err
		}
		d, ok := getDelivery(tx, deliveryID)
		if !ok || d.HookID != hookID {
			return fault.New(fault.NotFound, "hook %s has no delivery %s (100 finished deliveries are kept per hook)", state.Shorten(hookID), state.Shorten(deliveryID))
		}
		out = deliveryView(d, true)
		return nil
	})
	return out, err
}

func mustHook(tx *state.Tx, repo, repoID, hookID string) error {
	if _, ok := getHook(tx, repoID, hookID); !ok {
		return fault.New(fault.NotFound, "repository %s has no hook %s: see slipway repo hook list --repo %s", state.Shorten(repo), state.Shorten(hookID), state.Shorten(repo))
	}
	return nil
}
