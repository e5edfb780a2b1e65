package state

import (
	"time"

	"github.com/slipwayhq/slipway/server/fault"
)

var (
	bucketHosts       = []byte("hosts")        // host id -> Host
	bucketHostNames   = []byte("host_names")   // name -> host id
	bucketHostSecrets = []byte("host_secrets") // secret hash -> host id
	bucketHostTokens  = []byte("host_tokens")  // accessor -> HostToken
	bucketHostTokHash = []byte("host_token_hash")
)

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
	Revisions   map[string]string `json:"revisions,omitempty"`
	CreateIndex uint64            `json:"create_index"`
	ModifyIndex uint64            `json:"modify_index"`
}

// HostToken is a registration token: it lets an agent register a host, nothing else.
type HostToken struct {
	AccessorID     string            `json:"accessor_id"`
	SecretHash     string            `json:"secret_hash"`
	Tags           map[string]string `json:"tags,omitempty"` // given to hosts registering with it
	CreateTime     time.Time         `json:"create_time"`
	ExpirationTime *time.Time        `json:"expiration_time,omitempty"`
	CreateIndex    uint64            `json:"create_index"`
}

// CreateHostToken stores a registration token.
func (t *Tx) CreateHostToken(ht HostToken) error {
	if t.tx.Bucket(bucketHostTokHash).Get([]byte(ht.SecretHash)) != nil {
		return fault.New(fault.Conflict, "registration token already exists")
	}
	if err := t.put(bucketHostTokens, []byte(ht.AccessorID), ht); err != nil {
		return err
	}
	return t.tx.Bucket(bucketHostTokHash).Put([]byte(ht.SecretHash), []byte(ht.AccessorID))
}

// HostTokenBySecretHash finds a registration token.
func (t *Tx) HostTokenBySecretHash(hash string) (HostToken, error) {
	var ht HostToken
	acc := t.tx.Bucket(bucketHostTokHash).Get([]byte(hash))
	if acc == nil {
		return ht, fault.New(fault.NotFound, "registration token not found")
	}
	ok, err := t.get(bucketHostTokens, acc, &ht)
	if err == nil && !ok {
		err = fault.New(fault.NotFound, "registration token not found")
	}
	return ht, err
}

// RegisterHost creates a host, or updates it when the same ID registers again with the same
// secret. The same ID with another secret, or a name another host has, is a conflict.
func (t *Tx) RegisterHost(h Host, index uint64) (Host, error) {
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
		cur.Name, cur.Tags, cur.Hostname, cur.OS, cur.Arch, cur.AgentVersion = h.Name, h.Tags, h.Hostname, h.OS, h.Arch, h.AgentVersion
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

// ListHosts returns hosts in ID order.
func (t *Tx) ListHosts() ([]Host, error) {
	hosts, _, err := list[Host](t, bucketHosts, "", 0, nil)
	return hosts, err
}
