package deploy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Delivery of trigger events (the leader task deploy/triggers). Each round it reads the outbox
// in order, and for each trigger with an event due sends that trigger's events one after another
// (so one receiver sees its events in the order they happened, and a slow one delays no other),
// then proposes trigger.delivered for those delivered and those given up on. A delivery is a
// POST of the event's body with the headers of pkg/api (Slipway-Event, -Event-Id, -Timestamp,
// -Signature) within deliverTimeout; redirects are not followed, and any answer but 2xx is a
// failure, retried with backoff (from retryBase, doubling to retryMax) up to deliverAttempts
// times. Attempts are counted by this leader only: a new one starts the count again.

// Delivery bounds, variables for tests.
var (
	deliverTimeout  = 10 * time.Second
	deliverAttempts = 10
	retryBase       = time.Second
	retryMax        = 5 * time.Minute
	deliverPoll     = 250 * time.Millisecond
)

const deliverBatch = 256 // events read per round

// deliverer is one leadership's delivery state.
type deliverer struct {
	m      *Module
	client *http.Client
	log    *slog.Logger

	mu    sync.Mutex
	tries map[string]*attempt // by event ID
}

type attempt struct {
	n    int
	next time.Time
}

// deliverTriggers is the leader task: it runs until leadership is lost.
func (m *Module) deliverTriggers(ctx context.Context) {
	log := m.core.Log
	if log == nil {
		log = slog.Default()
	}
	d := &deliverer{m: m, log: log.With("component", "triggers"), tries: map[string]*attempt{},
		client: &http.Client{Timeout: deliverTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	t := time.NewTicker(deliverPoll)
	defer t.Stop()
	dropped := ^uint64(0) // the count when this leadership began: only later drops are logged
	for {
		var events []outboxEvent
		var nowDropped uint64
		_ = m.core.State.View(func(tx *state.Tx) error {
			events = outboxList(tx, deliverBatch)
			nowDropped = outboxUint(tx, outboxDroppedKey)
			return nil
		})
		if dropped != ^uint64(0) && nowDropped > dropped {
			d.log.Warn("trigger events were dropped: the outbox was full (receivers down for long?)", "dropped", nowDropped-dropped, "max_outbox", MaxOutbox)
		}
		dropped = nowDropped
		if len(events) > 0 {
			d.round(ctx, events)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// round delivers what is due of events and proposes the outcome.
func (d *deliverer) round(ctx context.Context, events []outboxEvent) {
	type queue struct {
		trigger Trigger
		found   bool
		events  []outboxEvent
	}
	var order []string
	queues := map[string]*queue{}
	_ = d.m.core.State.View(func(tx *state.Tx) error {
		for _, ev := range events {
			k := ev.GroupID + "\x00" + ev.Trigger
			q, ok := queues[k]
			if !ok {
				t, found := getTrigger(tx, ev.GroupID, ev.Trigger)
				q = &queue{trigger: t, found: found}
				queues[k] = q
				order = append(order, k)
			}
			q.events = append(q.events, ev)
		}
		return nil
	})
	var (
		mu   sync.Mutex
		done []string
		wg   sync.WaitGroup
	)
	finish := func(id string) {
		mu.Lock()
		done = append(done, id)
		mu.Unlock()
		d.mu.Lock()
		delete(d.tries, id)
		d.mu.Unlock()
	}
	for _, k := range order {
		q := queues[k]
		if !q.found {
			for _, ev := range q.events {
				d.log.Info("trigger event dropped: its trigger or group was removed", "trigger", ev.Trigger, "event", ev.Event, "id", ev.ID)
				finish(ev.ID)
			}
			continue
		}
		if !d.due(q.events[0].ID) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			secret, err := d.m.core.Keyring.Open(q.trigger.Secret, triggerAAD(q.events[0].GroupID, q.trigger.Name))
			if err != nil {
				// Counted as a failed attempt of the first event, so it is retried with backoff
				// (and logged as often), and given up on like an unreachable receiver.
				if n := d.attempted(q.events[0].ID); n >= deliverAttempts {
					finish(q.events[0].ID)
				}
				d.log.Error("cannot open a trigger's secret; its events wait", "trigger", q.trigger.Name, "error", err)
				return
			}
			for _, ev := range q.events {
				if ctx.Err() != nil || !d.due(ev.ID) {
					return
				}
				n, err := d.send(ctx, q.trigger, string(secret), ev)
				if err == nil {
					finish(ev.ID)
					continue
				}
				if n >= deliverAttempts {
					d.log.Warn("trigger event given up after every attempt", "trigger", q.trigger.Name, "url", q.trigger.URL, "event", ev.Event, "id", ev.ID, "attempts", n, "error", err)
					finish(ev.ID)
					continue
				}
				d.log.Info("trigger delivery failed; will retry", "trigger", q.trigger.Name, "url", q.trigger.URL, "event", ev.Event, "id", ev.ID, "attempt", n, "error", err)
				return // later events of this trigger wait: a receiver sees them in order
			}
		}()
	}
	wg.Wait()
	if len(done) == 0 {
		return
	}
	if _, err := command.Propose(ctx, d.m.core.Cluster, cmdTriggerDelivered, d.m.core.Now(), TriggerDeliveredPayload{IDs: done}); err != nil && ctx.Err() == nil {
		d.log.Warn("could not record trigger deliveries; they will be sent again", "events", len(done), "error", err)
	}
}

// due reports whether an event may be attempted now.
func (d *deliverer) due(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, ok := d.tries[id]
	return !ok || !time.Now().Before(a.next)
}

// send makes one delivery attempt and returns how many this leader has made.
func (d *deliverer) send(ctx context.Context, t Trigger, secret string, ev outboxEvent) (int, error) {
	n := d.attempted(ev.ID)
	return n, post(ctx, d.client, t.URL, secret, ev, n)
}

// attempted counts an attempt of an event, sets when the next may be made, and returns the
// count.
func (d *deliverer) attempted(id string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	a := d.tries[id]
	if a == nil {
		a = &attempt{}
		d.tries[id] = a
	}
	a.n++
	a.next = time.Now().Add(min(retryBase<<min(a.n-1, 20), retryMax))
	return a.n
}

// post sends one event, signed at the current time.
func post(ctx context.Context, client *http.Client, url, secret string, ev outboxEvent, attempt int) error {
	if err := checkTriggerURL(url); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, deliverTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(ev.Body))
	if err != nil {
		return err
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Slipway-Trigger/1")
	req.Header.Set(pub.TriggerEventHeader, ev.Event)
	req.Header.Set(pub.TriggerEventIDHeader, ev.ID)
	req.Header.Set(pub.TriggerTimestampHeader, strconv.FormatInt(ts, 10))
	req.Header.Set(pub.TriggerSignatureHeader, pub.SignTrigger(secret, ts, ev.Body))
	req.Header.Set("Slipway-Delivery-Attempt", strconv.Itoa(attempt))
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return nil
}
