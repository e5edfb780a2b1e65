package state

import (
	"encoding/binary"
	"iter"
	"time"

	"github.com/slipwayhq/slipway/server/core/fault"
)

var (
	bucketHosts       = []byte("hosts")        // host id -> Host
	bucketHostNames   = []byte("host_names")   // name -> host id
	bucketHostSecrets = []byte("host_secrets") // secret hash -> host id
	bucketHostTokens  = []byte("host_tokens")  // accessor -> HostToken
	bucketHostTokHash = []byte("host_token_hash")
	// bucketHostTombs remembers deleted host IDs (id -> HostTombstone), so a deleted host cannot
	// come back with its old identity; bucketHostTombOrder (8-byte big-endian state index + id)
	// orders them for eviction once there are more than MaxHostTombstones.
	bucketHostTombs     = []byte("host_tombstones")
	bucketHostTombOrder = []byte("host_tombstone_order")
	keyHostTombCount    = []byte("host_tombstone_count")
	// bucketHostSecretTombs remembers the secret hashes of deleted hosts (secret hash -> host
	// id), so that a deleted host's agent cannot come back under a new ID with its old secret.
	// Each entry belongs to an ID tombstone (HostTombstone.SecretHash) and is forgotten with it.
	bucketHostSecretTombs = []byte("host_secret_tombstones")
)

// MaxHostTombstones bounds how many deleted host IDs (with their secrets) are remembered. Beyond
// it the oldest are forgotten (by deletion order, the same on every server): such a host could
// register again with its old identity if it still held a valid registration token.
const MaxHostTombstones = 100_000

// tombstoneBound is MaxHostTombstones; tests lower it.
var tombstoneBound = MaxHostTombstones

// Host is a machine running slipway-agent.
type Host struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Tags         map[string]string `json:"tags,omitempty"`
	SecretHash   string            `json:"secret_hash"`
	Hostname     string            `json:"hostname"`
	OS           string            `json:"os"`
	Arch         string            `json:"arch"`
	AgentVersion string            `json:"agent_version"`
	Address      string            `json:"address,omitempty"`
	// Server is the ID of the server holding the host's session; "" while it has none.
	Server       string    `json:"server,omitempty"`
	LastSeen     time.Time `json:"last_seen"`
	RegisterTime time.Time `json:"register_time"`
	// Revisions is the current revision per deployment group ID.
	Revisions map[string]string `json:"revisions,omitempty"`
	// OperatorTags are the tag keys an operator set or removed (PATCH /v1/hosts/{name}/tags):
	// a re-registration never changes them, so an operator's tag (quarantined=yes) survives
	// the agent's restart.
	OperatorTags []string `json:"operator_tags,omitempty"`
	// Capabilities are what the agent of the host's latest session advertised (kinds of work
	// such as "deploy" and "build", and "docker"): the build scheduler matches them. Kept while
	// the host is offline.
	Capabilities []string `json:"capabilities,omitempty"`
	CreateIndex  uint64   `json:"create_index"`
	ModifyIndex  uint64   `json:"modify_index"`
}

// HostTombstone records a deleted host's ID and the hash of its secret (empty in tombstones
// written before secrets were remembered).
type HostTombstone struct {
	HostID      string    `json:"host_id"`
	Name        string    `json:"name"`
	SecretHash  string    `json:"secret_hash,omitempty"`
	DeleteTime  time.Time `json:"delete_time"`
	DeleteIndex uint64    `json:"delete_index"`
}

// LookupHost returns the host with an ID and whether there is one.
func (t *Tx) LookupHost(id string) (Host, bool, error) {
	var h Host
	ok, err := t.get(bucketHosts, []byte(id), &h)
	return h, ok, err
}

// HostExists reports whether a host ID is registered, without decoding its record.
func (t *Tx) HostExists(id string) bool { return t.tx.Bucket(bucketHosts).Get([]byte(id)) != nil }

// CountHosts counts registered hosts. It walks a cursor (which sees this transaction's own
// writes), so it gives the same answer on every server however entries were batched.
func (t *Tx) CountHosts() int {
	n := 0
	c := t.tx.Bucket(bucketHostNames).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	return n
}

// HostTombstoneOf returns the tombstone of a deleted host ID, if one is remembered.
func (t *Tx) HostTombstoneOf(id string) (HostTombstone, bool, error) {
	var ts HostTombstone
	ok, err := t.get(bucketHostTombs, []byte(id), &ts)
	return ts, ok, err
}

// HostSecretTombstoneOf returns the tombstone of the deleted host whose secret has this hash, if
// one is remembered.
func (t *Tx) HostSecretTombstoneOf(secretHash string) (HostTombstone, bool, error) {
	id := t.tx.Bucket(bucketHostSecretTombs).Get([]byte(secretHash))
	if id == nil {
		return HostTombstone{}, false, nil
	}
	return t.HostTombstoneOf(string(id))
}

// AddHostTombstone remembers a deleted host ID and its secret hash, forgetting the oldest
// tombstone (ID and secret together) when more than MaxHostTombstones are kept.
func (t *Tx) AddHostTombstone(ts HostTombstone) error {
	if _, ok, err := t.HostTombstoneOf(ts.HostID); err != nil || ok {
		return err
	}
	if err := t.put(bucketHostTombs, []byte(ts.HostID), ts); err != nil {
		return err
	}
	if ts.SecretHash != "" {
		if err := t.tx.Bucket(bucketHostSecretTombs).Put([]byte(ts.SecretHash), []byte(ts.HostID)); err != nil {
			return err
		}
	}
	if err := t.tx.Bucket(bucketHostTombOrder).Put(tombKey(ts.DeleteIndex, ts.HostID), nil); err != nil {
		return err
	}
	meta := t.tx.Bucket(bucketMeta)
	n := getUint(meta.Get(keyHostTombCount)) + 1
	if n > uint64(tombstoneBound) {
		k, _ := t.tx.Bucket(bucketHostTombOrder).Cursor().First()
		if k != nil {
			if err := t.tx.Bucket(bucketHostTombOrder).Delete(k); err != nil {
				return err
			}
			old, _, err := t.HostTombstoneOf(string(k[8:]))
			if err != nil {
				return err
			}
			if old.SecretHash != "" && string(t.tx.Bucket(bucketHostSecretTombs).Get([]byte(old.SecretHash))) == old.HostID {
				if err := t.tx.Bucket(bucketHostSecretTombs).Delete([]byte(old.SecretHash)); err != nil {
					return err
				}
			}
			if err := t.tx.Bucket(bucketHostTombs).Delete(k[8:]); err != nil {
				return err
			}
			n--
		}
	}
	return meta.Put(keyHostTombCount, putUint(n))
}

func tombKey(index uint64, id string) []byte {
	k := make([]byte, 8, 8+len(id))
	binary.BigEndian.PutUint64(k, index)
	return append(k, id...)
}

// RegisterHost creates a host, or updates it when the same ID registers again with the same
// secret. The same ID with another secret, or a name another host has, is a conflict. With
// keepOperatorTags, an update leaves the tags an operator set or removed (Host.OperatorTags) as
// they are and takes the others from h; without it (entries written before operator tags were
// tracked), h's tags replace the host's.
func (t *Tx) RegisterHost(h Host, index uint64, keepOperatorTags bool) (Host, error) {
	if err := ValidateName("host", h.Name); err != nil {
		return h, err
	}
	var cur Host
	exists, err := t.get(bucketHosts, []byte(h.ID), &cur)
	if err != nil {
		return h, err
	}
	if owner := t.tx.Bucket(bucketHostNames).Get([]byte(h.Name)); owner != nil && string(owner) != h.ID {
		return h, fault.New(fault.Conflict, "host name %q is taken by another host: register with --name to choose another", h.Name)
	}
	if exists {
		if cur.SecretHash != h.SecretHash {
			return h, fault.New(fault.Conflict, "host %s is already registered with another secret: it cannot be claimed again; delete it first (slipway host delete %s)", h.ID, cur.Name)
		}
		if cur.Name != h.Name {
			if err := t.tx.Bucket(bucketHostNames).Delete([]byte(cur.Name)); err != nil {
				return h, err
			}
		}
		tags := h.Tags
		if keepOperatorTags {
			tags = mergeOperatorTags(cur, h.Tags)
		}
		cur.Name, cur.Tags, cur.Hostname, cur.OS, cur.Arch, cur.AgentVersion = h.Name, tags, h.Hostname, h.OS, h.Arch, h.AgentVersion
		cur.ModifyIndex = index
		h = cur
	} else {
		if t.tx.Bucket(bucketHostSecrets).Get([]byte(h.SecretHash)) != nil {
			return h, fault.New(fault.Conflict, "host secret already in use")
		}
		h.CreateIndex, h.ModifyIndex = index, index
	}
	if err := t.put(bucketHosts, []byte(h.ID), h); err != nil {
		return h, err
	}
	if err := t.tx.Bucket(bucketHostNames).Put([]byte(h.Name), []byte(h.ID)); err != nil {
		return h, err
	}
	return h, t.tx.Bucket(bucketHostSecrets).Put([]byte(h.SecretHash), []byte(h.ID))
}

// mergeOperatorTags is a re-registration's tags: the registration's for every key no operator
// touched, the host's current value (or absence) for every key one did.
func mergeOperatorTags(cur Host, reg map[string]string) map[string]string {
	op := map[string]bool{}
	for _, k := range cur.OperatorTags {
		op[k] = true
	}
	out := map[string]string{}
	for k, v := range reg {
		if !op[k] {
			out[k] = v
		}
	}
	for k := range op {
		if v, ok := cur.Tags[k]; ok {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// PutHost replaces a host record (its name and secret must not change).
func (t *Tx) PutHost(h Host) error { return t.put(bucketHosts, []byte(h.ID), h) }

// GetHost returns a host by ID.
func (t *Tx) GetHost(id string) (Host, error) {
	var h Host
	ok, err := t.get(bucketHosts, []byte(id), &h)
	if err == nil && !ok {
		err = fault.New(fault.NotFound, "host %q not found", id)
	}
	return h, err
}

// HostByName returns a host by name.
func (t *Tx) HostByName(name string) (Host, error) {
	id := t.tx.Bucket(bucketHostNames).Get([]byte(name))
	if id == nil {
		return Host{}, fault.New(fault.NotFound, "host %q not found: see slipway host list", name)
	}
	return t.GetHost(string(id))
}

// HostBySecretHash returns the host a secret belongs to.
func (t *Tx) HostBySecretHash(hash string) (Host, error) {
	id := t.tx.Bucket(bucketHostSecrets).Get([]byte(hash))
	if id == nil {
		return Host{}, fault.New(fault.NotFound, "host not found")
	}
	return t.GetHost(string(id))
}

// DeleteHost removes a host; its secret stops working.
func (t *Tx) DeleteHost(id string) error {
	h, err := t.GetHost(id)
	if err != nil {
		return err
	}
	for _, d := range [][2][]byte{{bucketHostNames, []byte(h.Name)}, {bucketHostSecrets, []byte(h.SecretHash)}, {bucketHosts, []byte(h.ID)}} {
		if err := t.tx.Bucket(d[0]).Delete(d[1]); err != nil {
			return err
		}
	}
	return nil
}

// HostsByName yields the hosts in name order, starting after the name after ("" for the first):
// a page of hosts decodes only the hosts it reads, whatever the fleet's size. A name whose host
// record is missing is an error (the two buckets are written together).
func (t *Tx) HostsByName(after string) iter.Seq2[Host, error] {
	return func(yield func(Host, error) bool) {
		c := t.tx.Bucket(bucketHostNames).Cursor()
		k, id := c.Seek([]byte(after))
		if k != nil && after != "" && string(k) == after {
			k, id = c.Next()
		}
		for ; k != nil; k, id = c.Next() {
			h, ok, err := t.LookupHost(string(id))
			if err == nil && !ok {
				err = fault.New(fault.Internal, "host name %s names host %s, which has no record", k, id)
			}
			if !yield(h, err) || err != nil {
				return
			}
		}
	}
}

// ListHosts returns hosts in ID order.
func (t *Tx) ListHosts() ([]Host, error) {
	hosts, _, err := list[Host](t, bucketHosts, "", 0, nil)
	return hosts, err
}
