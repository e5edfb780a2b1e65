package hooks

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/core/webhook"
)

// Delivery (the leader task git/hooks). Each round it reads the pending queue in order, takes
// the deliveries due (NextAttempt passed), sends each hook's one after another (a slow receiver
// delays no other hook; at most deliverWorkers hooks at once), then proposes hook.attempts
// with every attempt's outcome and, for a failure, the next attempt's time (webhook.Backoff of
// the attempts made, from RetryBase to RetryMax) or the decision to give up (RetryWindow after
// the delivery was queued). Everything a leader knows is in the state: a new leader resumes
// the same schedule, and sends an attempt twice only when the old one's hook.attempts did not
// commit (a receiver tells by X-Slipway-Delivery).

const (
	deliverBatch   = 512 // queued deliveries read per round
	deliverWorkers = 16  // hooks sent to at once
)

type due struct {
	d      Delivery
	url    string
	secret []byte
}

func (s *Service) deliver(ctx context.Context) {
	log := s.core.Log
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "git-hooks")
	client := webhook.NewClient(webhook.Options{Timeout: Timeout, MaxAnswer: MaxAnswer, AllowPrivate: s.AllowPrivate})
	t := time.NewTicker(Poll)
	defer t.Stop()
	for {
		for s.round(ctx, client, log) && ctx.Err() == nil {
			// a full round: go on at once
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// round sends what is due and records it; it reports whether it sent anything.
func (s *Service) round(ctx context.Context, client *webhook.Client, log *slog.Logger) bool {
	now := time.Now()
	byHook := map[string][]due{}
	var order []string
	_ = s.core.State.View(func(tx *state.Tx) error {
		secrets := map[string][]byte{}
		for _, id := range queuedIDs(tx, deliverBatch) {
			d, ok := getDelivery(tx, id)
			if !ok || d.State != StatePending || d.NextAttempt.After(now) {
				continue
			}
			h, ok := getHook(tx, d.RepoID, d.HookID)
			if !ok {
				continue
			}
			sec, ok := secrets[h.ID]
			if !ok {
				var err error
				sec, err = s.core.Keyring.Open(h.Secret, secretAAD(h.RepoID, h.ID))
				if err != nil {
					log.Error("cannot open a hook's secret; its deliveries wait", "hook", h.ID, "err", err)
					continue
				}
				secrets[h.ID] = sec
			}
			if _, ok := byHook[h.ID]; !ok {
				order = append(order, h.ID)
			}
			byHook[h.ID] = append(byHook[h.ID], due{d: d, url: h.URL, secret: sec})
		}
		return nil
	})
	if len(order) == 0 {
		return false
	}
	var (
		mu      sync.Mutex
		results []AttemptResult
		wg      sync.WaitGroup
		sem     = make(chan struct{}, deliverWorkers)
	)
	for _, hid := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func(list []due) {
			defer func() { <-sem; wg.Done() }()
			for _, x := range list {
				if ctx.Err() != nil {
					return
				}
				r := s.attempt(ctx, client, x)
				if !r.Delivered {
					log.Info("hook delivery failed", "hook", x.d.HookID, "delivery", x.d.ID, "attempt", len(x.d.Attempts)+1, "give_up", r.GiveUp, "err", r.Attempt.Error)
				}
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			}
		}(byHook[hid])
	}
	wg.Wait()
	if len(results) == 0 {
		return false
	}
	if _, err := command.Propose(ctx, s.core.Cluster, cmdAttempts, s.core.Now(), AttemptsPayload{Results: results}); err != nil {
		if ctx.Err() == nil {
			log.Warn("could not record hook deliveries; they will be attempted again", "deliveries", len(results), "err", err)
		}
		return false
	}
	return true
}

// attempt sends one delivery and decides what follows.
func (s *Service) attempt(ctx context.Context, client *webhook.Client, x due) AttemptResult {
	start := time.Now()
	h := http.Header{}
	h.Set(pub.HookDeliveryHeader, x.d.ID)
	h.Set(pub.HookEventHeader, x.d.Event)
	h.Set(pub.HookIDHeader, x.d.HookID)
	h.Set(pub.HookTimestampHeader, strconv.FormatInt(start.Unix(), 10))
	h.Set(pub.HookSignatureHeader, webhook.Sign(x.secret, x.d.Body))
	res := client.Post(ctx, x.url, h, x.d.Body)
	a := Attempt{Time: start.UTC(), Status: res.Status, DurationMS: res.Duration.Milliseconds()}
	out := AttemptResult{Delivery: x.d.ID, Attempt: a, Delivered: res.Err == nil}
	if res.Err != nil {
		out.Attempt.Error = res.Err.Error()
		next := start.Add(webhook.Backoff(RetryBase, RetryMax, len(x.d.Attempts)+1))
		if next.Sub(x.d.CreateTime) > RetryWindow {
			out.GiveUp = true
		} else {
			out.Next = next.UTC()
		}
	}
	return out
}
