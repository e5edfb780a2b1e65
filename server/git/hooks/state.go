package hooks

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/slipwayhq/slipway/server/core/state"
)

// Hook is a repository's webhook (bucket git/hooks; its JSON is the log format). Secret is
// sealed under the cluster keyring (secretAAD): the state, snapshots and the log hold no usable
// copy, and the API never shows it.
type Hook struct {
	ID         string    `json:"id"` // 16 random bytes in hex, chosen by the proposer
	RepoID     string    `json:"repo_id"`
	URL        string    `json:"url"`
	Events     []string  `json:"events"` // among Types, or ["*"]; sorted
	Secret     []byte    `json:"secret"` // sealed
	CreateTime time.Time `json:"create_time"`
	Dropped    uint64    `json:"dropped,omitempty"`
}

func (h Hook) takes(typ string) bool {
	return slices.Contains(h.Events, "*") || slices.Contains(h.Events, typ)
}

func secretAAD(repoID, hookID string) []byte { return []byte("git-hook:" + repoID + "/" + hookID) }

// Delivery states.
const (
	StatePending   = "pending"
	StateDelivered = "delivered"
	StateFailed    = "failed"
)

// Delivery is one event for one hook (bucket git/hook_deliveries). Body is fixed when queued,
// so every attempt sends the same bytes.
type Delivery struct {
	ID           string          `json:"id"` // 20 digits, in queue order
	HookID       string          `json:"hook_id"`
	RepoID       string          `json:"repo_id"`
	Event        string          `json:"event"`
	EventID      string          `json:"event_id"`
	Body         json.RawMessage `json:"body"`
	CreateTime   time.Time       `json:"create_time"`
	State        string          `json:"state"`
	NextAttempt  time.Time       `json:"next_attempt"` // zero: due now
	Attempts     []Attempt       `json:"attempts,omitempty"`
	RedeliveryOf string          `json:"redelivery_of,omitempty"`
}

// Attempt is one try of a delivery.
type Attempt struct {
	Time       time.Time `json:"time"`
	Status     int       `json:"status"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
}

func hookKey(repoID, hookID string) []byte { return []byte(repoID + "\x00" + hookID) }

// repoHooks returns a repository's hooks in ID order.
func repoHooks(tx *state.Tx, repoID string) []Hook {
	var out []Hook
	prefix := []byte(repoID + "\x00")
	c := tx.Bucket(bucketHooks).Cursor()
	for k, v := c.Seek(prefix); k != nil && len(k) > len(prefix) && string(k[:len(prefix)]) == string(prefix); k, v = c.Next() {
		var h Hook
		if json.Unmarshal(v, &h) == nil {
			out = append(out, h)
		}
	}
	return out
}

func getHook(tx *state.Tx, repoID, hookID string) (Hook, bool) {
	var h Hook
	v := tx.Bucket(bucketHooks).Get(hookKey(repoID, hookID))
	if v == nil || json.Unmarshal(v, &h) != nil {
		return Hook{}, false
	}
	return h, true
}

func putHook(tx *state.Tx, h Hook) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketHooks).Put(hookKey(h.RepoID, h.ID), b)
}

func deliveryKey(id string) []byte         { return []byte("d/" + id) }
func queueKey(id string) []byte            { return []byte("q/" + id) }
func pendingKey(hookID, id string) []byte  { return []byte("hp/" + hookID + "/" + id) }
func finishedKey(hookID, id string) []byte { return []byte("hf/" + hookID + "/" + id) }
func pendingCountKey(hookID string) []byte { return []byte("hpn/" + hookID) }

func getDelivery(tx *state.Tx, id string) (Delivery, bool) {
	var d Delivery
	v := tx.Bucket(bucketDeliveries).Get(deliveryKey(id))
	if v == nil || json.Unmarshal(v, &d) != nil {
		return Delivery{}, false
	}
	return d, true
}

func putDelivery(tx *state.Tx, d Delivery) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketDeliveries).Put(deliveryKey(d.ID), b)
}

func addUint(tx *state.Tx, key []byte, delta int) error {
	n := getUint(tx, bucketDeliveries, key)
	if delta < 0 && n == 0 {
		return nil
	}
	return putUint(tx, bucketDeliveries, key, uint64(int64(n)+int64(delta)))
}

// queue adds a pending delivery of d's event to h. When MaxQueued deliveries are pending in
// all, or MaxPendingPerHook for h (its receiver has been down for long), it is dropped and
// counted on the hook instead: the change that made the event is never refused for it.
func queue(tx *state.Tx, h Hook, d Delivery) error {
	if getUint(tx, bucketDeliveries, []byte("queued")) >= MaxQueued || getUint(tx, bucketDeliveries, pendingCountKey(h.ID)) >= MaxPendingPerHook {
		h.Dropped++
		if err := addUint(tx, []byte("dropped"), 1); err != nil {
			return err
		}
		return putHook(tx, h)
	}
	seq := getUint(tx, bucketDeliveries, []byte("seq")) + 1
	if err := putUint(tx, bucketDeliveries, []byte("seq"), seq); err != nil {
		return err
	}
	d.ID, d.HookID, d.RepoID, d.State = formatID(seq), h.ID, h.RepoID, StatePending
	if err := putDelivery(tx, d); err != nil {
		return err
	}
	b := tx.Bucket(bucketDeliveries)
	if err := b.Put(queueKey(d.ID), []byte{1}); err != nil {
		return err
	}
	if err := addUint(tx, []byte("queued"), 1); err != nil {
		return err
	}
	if err := b.Put(pendingKey(h.ID, d.ID), []byte{1}); err != nil {
		return err
	}
	return addUint(tx, pendingCountKey(h.ID), 1)
}

// finish takes a delivery that was delivered or given up on off the queue and into its
// hook's history, of which the last MaxDeliveriesPerHook are kept.
func finish(tx *state.Tx, d Delivery) error {
	b := tx.Bucket(bucketDeliveries)
	if err := unqueue(tx, d.ID, d.HookID); err != nil {
		return err
	}
	if err := b.Put(finishedKey(d.HookID, d.ID), []byte{1}); err != nil {
		return err
	}
	done := indexIDs(tx, "hf/"+d.HookID+"/")
	for len(done) > MaxDeliveriesPerHook {
		if err := removeDelivery(tx, done[0], d.HookID); err != nil {
			return err
		}
		done = done[1:]
	}
	return nil
}

func indexIDs(tx *state.Tx, prefix string) []string {
	var out []string
	c := tx.Bucket(bucketDeliveries).Cursor()
	for k, _ := c.Seek([]byte(prefix)); len(k) > len(prefix) && string(k[:len(prefix)]) == prefix; k, _ = c.Next() {
		out = append(out, string(k[len(prefix):]))
	}
	return out
}

// hookDeliveryIDs returns a hook's delivery IDs (pending and kept), oldest first.
func hookDeliveryIDs(tx *state.Tx, hookID string) []string {
	out := append(indexIDs(tx, "hf/"+hookID+"/"), indexIDs(tx, "hp/"+hookID+"/")...)
	slices.Sort(out)
	return out
}

// unqueue takes a delivery off the pending queue and its hook's pending index (no error when
// it is not on them).
func unqueue(tx *state.Tx, id, hookID string) error {
	b := tx.Bucket(bucketDeliveries)
	if b.Get(queueKey(id)) != nil {
		if err := b.Delete(queueKey(id)); err != nil {
			return err
		}
		if err := addUint(tx, []byte("queued"), -1); err != nil {
			return err
		}
	}
	if b.Get(pendingKey(hookID, id)) != nil {
		if err := b.Delete(pendingKey(hookID, id)); err != nil {
			return err
		}
		return addUint(tx, pendingCountKey(hookID), -1)
	}
	return nil
}

func removeDelivery(tx *state.Tx, id, hookID string) error {
	if err := unqueue(tx, id, hookID); err != nil {
		return err
	}
	b := tx.Bucket(bucketDeliveries)
	if err := b.Delete(finishedKey(hookID, id)); err != nil {
		return err
	}
	return b.Delete(deliveryKey(id))
}

// queuedIDs returns up to limit pending delivery IDs, oldest first.
func queuedIDs(tx *state.Tx, limit int) []string {
	var out []string
	c := tx.Bucket(bucketDeliveries).Cursor()
	for k, _ := c.Seek([]byte("q/")); len(k) > 2 && string(k[:2]) == "q/" && len(out) < limit; k, _ = c.Next() {
		out = append(out, string(k[2:]))
	}
	return out
}

// deleteHook removes a hook and its deliveries.
func deleteHook(tx *state.Tx, repoID, hookID string) error {
	for _, id := range hookDeliveryIDs(tx, hookID) {
		if err := removeDelivery(tx, id, hookID); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketDeliveries).Delete(pendingCountKey(hookID)); err != nil {
		return err
	}
	return tx.Bucket(bucketHooks).Delete(hookKey(repoID, hookID))
}

// DeleteRepo removes a deleted repository's hooks and their deliveries: the git service's
// repo.delete apply calls it. The stream's events of the repository stay until they age out.
func DeleteRepo(tx *state.Tx, repoID string) error {
	for _, h := range repoHooks(tx, repoID) {
		if err := deleteHook(tx, repoID, h.ID); err != nil {
			return err
		}
	}
	return nil
}

func formatID(seq uint64) string { return fmt.Sprintf("%020d", seq) }
