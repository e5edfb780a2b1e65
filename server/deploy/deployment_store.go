package deploy

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"slices"

	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/deploy/rollout"
)

// How a deployment is stored (layout 2). The record in the deployments bucket is the header: the
// deployment without its targets and without its rollout's hosts, plus the tally of its targets
// (rollout.Counts) and the rollout's cursor. Each target is under deployment id | 0 | host id in
// deploy/targets, each rollout host under deployment id | 0 | position in deploy/order. Applying
// a host's report therefore reads and writes the header and that host's target (and the few
// hosts the rollout starts), whatever the fleet's size; only creating, stopping and ending a
// deployment visit every target.
//
// A record written by an earlier release (layout 0: targets and rollout hosts inside) is read as
// it is, and converted to layout 2 the first time apply touches it (migrate): a pure function of
// the record, so every server converts it alike at the same entry.

const layoutSplit = 2

// cacheKey names the deployments' cache in a write transaction (state.Tx.Local).
type cacheKey struct{}

// deploymentCache holds the headers and targets a write transaction touched: a batch of agent
// reports on one deployment decodes and encodes its header once, not once per report. Flush
// writes the changed ones, in key order, when the transaction's work is done.
type deploymentCache struct {
	recs    map[string]*Deployment
	dirty   map[string]bool
	targets map[string]map[string]*Target // deployment id -> host id -> target
	tdirty  map[string]bool               // targetKey
}

// Flush implements state.Flusher.
func (c *deploymentCache) Flush(tx *state.Tx) error {
	for _, id := range sortedKeys(c.dirty) {
		if err := state.Put(tx, bucketDeployments, id, c.recs[id]); err != nil {
			return err
		}
	}
	for _, k := range sortedKeys(c.tdirty) {
		dep, host, _ := bytes.Cut([]byte(k), []byte{0})
		if err := putJSON(tx, bucketTargets, []byte(k), c.targets[string(dep)][string(host)]); err != nil {
			return err
		}
	}
	c.dirty, c.tdirty = map[string]bool{}, map[string]bool{}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func putJSON(tx *state.Tx, bucket, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fault.New(fault.Internal, "encode %s record: %v", bucket, err)
	}
	return tx.Bucket(bucket).Put(key, b)
}

// cacheOf returns the transaction's deployments cache, nil in a read transaction.
func cacheOf(tx *state.Tx) *deploymentCache {
	if !tx.Writable() {
		return nil
	}
	return tx.Local(cacheKey{}, func() state.Flusher {
		return &deploymentCache{recs: map[string]*Deployment{}, dirty: map[string]bool{},
			targets: map[string]map[string]*Target{}, tdirty: map[string]bool{}}
	}).(*deploymentCache)
}

func targetKey(dep, host string) []byte {
	k := make([]byte, 0, len(dep)+1+len(host))
	return append(append(append(k, dep...), 0), host...)
}

func orderKey(dep string, pos int) []byte {
	k := make([]byte, 0, len(dep)+5)
	return binary.BigEndian.AppendUint32(append(append(k, dep...), 0), uint32(pos))
}

// header returns a deployment's header for apply to change (a write transaction only): the
// cached record, which the caller marks changed with touch. A layout 0 record is converted
// first.
func header(tx *state.Tx, id string) (*Deployment, error) {
	c := cacheOf(tx)
	if d, ok := c.recs[id]; ok {
		return d, nil
	}
	d, ok, err := state.Get[Deployment](tx, bucketDeployments, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fault.New(fault.NotFound, "deployment %q not found", id)
	}
	c.recs[id] = &d
	if d.Layout < layoutSplit {
		if err := migrate(tx, &d); err != nil {
			return nil, err
		}
	}
	return &d, nil
}

// touch marks a header changed.
func touch(tx *state.Tx, d *Deployment) { cacheOf(tx).dirty[d.ID] = true }

// migrate converts a layout 0 record (targets and rollout hosts inside) to layout 2, in the
// cache. The active index already matches the targets.
func migrate(tx *state.Tx, d *Deployment) error {
	health := map[string]rollout.Health{}
	if d.Rollout != nil {
		for i, h := range d.Rollout.Hosts {
			health[h.ID] = h.Health
			if err := putJSON(tx, bucketOrder, orderKey(d.ID, i), h); err != nil {
				return err
			}
		}
	}
	tally := rollout.Counts{}
	c := cacheOf(tx)
	c.targets[d.ID] = map[string]*Target{}
	for _, id := range sortedTargets(d.Targets) {
		tg := d.Targets[id]
		tg.Health = health[id]
		tally.Add(tg.Health, hostState(tg.Status))
		c.targets[d.ID][id] = tg
		c.tdirty[string(targetKey(d.ID, id))] = true
	}
	if d.Rollout != nil {
		d.Rollout.Hosts = nil
	}
	d.Targets, d.Tally, d.Layout = nil, &tally, layoutSplit
	advanceCursor(tx, d)
	touch(tx, d)
	return nil
}

func sortedTargets(m map[string]*Target) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// target returns a host's part of a deployment for apply to change (d from header); the
// caller records a change with setTarget. ok is false when the deployment does not run on the
// host.
func target(tx *state.Tx, d *Deployment, hostID string) (*Target, bool, error) {
	c := cacheOf(tx)
	if tg, ok := c.targets[d.ID][hostID]; ok {
		return tg, true, nil
	}
	raw := tx.Bucket(bucketTargets).Get(targetKey(d.ID, hostID))
	if raw == nil {
		return nil, false, nil
	}
	var tg Target
	if err := json.Unmarshal(raw, &tg); err != nil {
		return nil, false, fault.New(fault.Internal, "decode target %s/%s: %v", d.ID, hostID, err)
	}
	if c.targets[d.ID] == nil {
		c.targets[d.ID] = map[string]*Target{}
	}
	c.targets[d.ID][hostID] = &tg
	return &tg, true, nil
}

// setTarget records a change of tg (of d), and its move to status: it keeps d's tally and the
// active index in step (a target is active, its agent sent the deployment, from when it is
// scheduled until it finishes) and marks both records changed.
func setTarget(tx *state.Tx, d *Deployment, tg *Target, status string) error {
	if status != tg.Status {
		d.Tally.Move(tg.Health, hostState(tg.Status), hostState(status))
		tg.Status = status
		touch(tx, d)
	}
	var err error
	switch {
	case tg.Finished():
		err = tx.Bucket(bucketActiveByHost).Delete(activeKey(tg.HostID, d.ID))
	case tg.Status != TargetWaiting:
		err = tx.Bucket(bucketActiveByHost).Put(activeKey(tg.HostID, d.ID), nil)
	}
	cacheOf(tx).tdirty[string(targetKey(d.ID, tg.HostID))] = true
	return err
}

// eachTarget calls fn with every target of d (from header) in host ID order, for apply to
// change with setTarget. It visits the whole fleet: for creating, stopping and ending only.
func eachTarget(tx *state.Tx, d *Deployment, fn func(tg *Target) error) error {
	ids := map[string]bool{}
	for id := range cacheOf(tx).targets[d.ID] {
		ids[id] = true
	}
	prefix := append([]byte(d.ID), 0)
	cur := tx.Bucket(bucketTargets).Cursor()
	for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
		ids[string(k[len(prefix):])] = true
	}
	for _, id := range sortedKeys(ids) {
		tg, _, err := target(tx, d, id)
		if err != nil {
			return err
		}
		if err := fn(tg); err != nil {
			return err
		}
	}
	return nil
}

// createDeployment stores a new deployment (whose Targets and Rollout.Hosts are complete) in
// layout 2, marks it active on its scheduled hosts and indexes it by host (bucketByHost). It
// returns the header.
func createDeployment(tx *state.Tx, d Deployment) (*Deployment, error) {
	c := cacheOf(tx)
	if c.recs[d.ID] != nil || tx.Bucket(bucketDeployments).Get([]byte(d.ID)) != nil {
		return nil, fault.New(fault.Conflict, "deployment %s already exists", d.ID)
	}
	targets := d.Targets
	health := map[string]rollout.Health{}
	if d.Rollout != nil {
		r := *d.Rollout
		for i, h := range r.Hosts {
			health[h.ID] = h.Health
			if err := putJSON(tx, bucketOrder, orderKey(d.ID, i), h); err != nil {
				return nil, err
			}
		}
		r.Hosts = nil
		d.Rollout = &r
	}
	h := d
	h.Targets, h.Layout, h.Tally = nil, layoutSplit, &rollout.Counts{}
	c.recs[d.ID], c.targets[d.ID] = &h, map[string]*Target{}
	touch(tx, &h)
	for _, id := range sortedTargets(targets) {
		tg := *targets[id]
		tg.Health = health[id]
		h.Tally.Add(tg.Health, hostState(tg.Status))
		c.targets[d.ID][id] = &tg
		if err := setTarget(tx, &h, &tg, tg.Status); err != nil {
			return nil, err
		}
		if err := indexByHost(tx, &h, id); err != nil {
			return nil, err
		}
	}
	advanceCursor(tx, &h)
	return &h, nil
}

// orderAt returns the host at a position of d's scheduling order.
func orderAt(tx *state.Tx, d *Deployment, pos int) (rollout.Host, bool) {
	raw := tx.Bucket(bucketOrder).Get(orderKey(d.ID, pos))
	var h rollout.Host
	if raw == nil || json.Unmarshal(raw, &h) != nil {
		return h, false
	}
	return h, true
}

// advanceCursor moves d's cursor past the hosts of its scheduling order that no longer wait.
func advanceCursor(tx *state.Tx, d *Deployment) {
	if d.Rollout == nil {
		return
	}
	for ; d.Cursor < d.Tally.Hosts; d.Cursor++ {
		h, ok := orderAt(tx, d, d.Cursor)
		if !ok {
			return
		}
		if tg, ok, err := target(tx, d, h.ID); err != nil || (ok && tg.Status == TargetWaiting) {
			return
		}
	}
}

// waiting yields the hosts of d that wait, in scheduling order from its cursor (the Pending
// hosts rollout.Decide reads).
func waiting(tx *state.Tx, d *Deployment) func(yield func(rollout.Host) bool) {
	return func(yield func(rollout.Host) bool) {
		for pos := d.Cursor; pos < d.Tally.Hosts; pos++ {
			h, ok := orderAt(tx, d, pos)
			if !ok {
				return
			}
			tg, ok, err := target(tx, d, h.ID)
			if err != nil || !ok || tg.Status != TargetWaiting {
				continue
			}
			if !yield(h) {
				return
			}
		}
	}
}

// fullRollout returns d's rollout with its hosts (read from the order).
func fullRollout(tx *state.Tx, d *Deployment) rollout.Rollout {
	r := *d.Rollout
	if d.Layout < layoutSplit {
		return r
	}
	r.Hosts = nil
	prefix := append([]byte(d.ID), 0)
	cur := tx.Bucket(bucketOrder).Cursor()
	for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
		var h rollout.Host
		if json.Unmarshal(v, &h) == nil {
			r.Hosts = append(r.Hosts, h)
		}
	}
	return r
}

// getDeployment returns a deployment whole, as the API shows it: its targets and its rollout's
// hosts assembled from their keys, copies the caller may keep. In a write transaction it reads
// what the transaction changed so far. It reads every target: apply calls it only to answer a
// create or a stop.
func getDeployment(tx *state.Tx, id string) (Deployment, error) {
	var d Deployment
	if c := cacheOf(tx); c != nil {
		h, err := header(tx, id)
		if err != nil {
			return d, err
		}
		d = *h
	} else {
		var ok bool
		var err error
		if d, ok, err = state.Get[Deployment](tx, bucketDeployments, id); err != nil {
			return d, err
		} else if !ok {
			return d, fault.New(fault.NotFound, "deployment %q not found", id)
		}
	}
	return assemble(tx, d)
}

// assemble fills in a layout 2 header's targets and rollout hosts.
func assemble(tx *state.Tx, d Deployment) (Deployment, error) {
	if d.Layout < layoutSplit {
		return d, nil
	}
	if d.Rollout != nil {
		r := fullRollout(tx, &d)
		d.Rollout = &r
	}
	if d.Tally != nil {
		t := *d.Tally
		d.Tally = &t
	}
	d.Targets = map[string]*Target{}
	if c := cacheOf(tx); c != nil {
		return d, eachTarget(tx, &d, func(tg *Target) error {
			cp := *tg
			cp.Events = slices.Clone(tg.Events)
			d.Targets[tg.HostID] = &cp
			return nil
		})
	}
	prefix := append([]byte(d.ID), 0)
	cur := tx.Bucket(bucketTargets).Cursor()
	for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
		var tg Target
		if err := json.Unmarshal(v, &tg); err != nil {
			return d, fault.New(fault.Internal, "decode target %s: %v", k, err)
		}
		d.Targets[tg.HostID] = &tg
	}
	return d, nil
}

// readHeader returns a deployment's header in a read transaction, without its targets (a
// layout 0 record keeps them).
func readHeader(tx *state.Tx, id string) (Deployment, error) {
	d, ok, err := state.Get[Deployment](tx, bucketDeployments, id)
	if err == nil && !ok {
		err = fault.New(fault.NotFound, "deployment %q not found", id)
	}
	return d, err
}

// readTarget returns a host's part of a deployment (d from readHeader) in a read transaction.
func readTarget(tx *state.Tx, d Deployment, hostID string) (*Target, bool) {
	if d.Layout < layoutSplit {
		tg, ok := d.Targets[hostID]
		return tg, ok
	}
	raw := tx.Bucket(bucketTargets).Get(targetKey(d.ID, hostID))
	var tg Target
	if raw == nil || json.Unmarshal(raw, &tg) != nil {
		return nil, false
	}
	return &tg, true
}

// GetDeployment returns a deployment whole (see getDeployment), for readers outside the service
// that hold a transaction on the state (benchmarks).
func GetDeployment(tx *state.Tx, id string) (Deployment, error) { return getDeployment(tx, id) }

// ReportRecordBytes returns the size of the records a host's report on a deployment reads and
// rewrites (its header and the first host's part; a record of an earlier release whole), for
// benchmarks; 0 when there is no such deployment.
func ReportRecordBytes(tx *state.Tx, id string) int {
	n := len(tx.Bucket(bucketDeployments).Get([]byte(id)))
	prefix := append([]byte(id), 0)
	if k, v := tx.Bucket(bucketTargets).Cursor().Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) {
		n += len(v)
	}
	return n
}

// DeploymentEnded reports whether a deployment has ended, reading its header only (for
// benchmarks that wait on a large one).
func DeploymentEnded(tx *state.Tx, id string) (bool, error) {
	d, err := readHeader(tx, id)
	return d.EndTime != nil, err
}
