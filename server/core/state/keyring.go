package state

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"

	"github.com/slipwayhq/slipway/server/core/fault"
)

var bucketKeyring = []byte("keyring") // data key id -> DataKey

// DataKey is one data key of the cluster keyring. Only its wrapped form is ever stored: the key
// encrypted under the cluster's key-encryption key, which no state, log or snapshot holds.
type DataKey struct {
	ID string `json:"id"`
	// Wrapped is nonce || AES-256-GCM(KEK, key, additional data = the ID).
	Wrapped []byte `json:"wrapped"`
	// KEK is the fingerprint of the key-encryption key that wrapped it.
	KEK         string    `json:"kek"`
	Active      bool      `json:"active"`
	CreateTime  time.Time `json:"create_time"`
	CreateIndex uint64    `json:"create_index"`
}

// AddDataKey adds a data key and makes it the only active one. An ID already present is refused.
func (t *Tx) AddDataKey(k DataKey) error {
	if t.tx.Bucket(bucketKeyring).Get([]byte(k.ID)) != nil {
		return fault.New(fault.Conflict, "data key %s already exists", k.ID)
	}
	keys, err := t.ListDataKeys()
	if err != nil {
		return err
	}
	for _, o := range keys {
		if o.Active {
			o.Active = false
			if err := t.put(bucketKeyring, []byte(o.ID), o); err != nil {
				return err
			}
		}
	}
	k.Active = true
	return t.put(bucketKeyring, []byte(k.ID), k)
}

// GetDataKey returns one data key record.
func (t *Tx) GetDataKey(id string) (DataKey, error) {
	var k DataKey
	ok, err := t.get(bucketKeyring, []byte(id), &k)
	if err == nil && !ok {
		err = fault.New(fault.NotFound, "data key %s is not in the keyring", id)
	}
	return k, err
}

// ListDataKeys returns every data key, oldest first.
func (t *Tx) ListDataKeys() ([]DataKey, error) {
	var out []DataKey
	err := t.tx.Bucket(bucketKeyring).ForEach(func(_, v []byte) error {
		var k DataKey
		if err := json.Unmarshal(v, &k); err != nil {
			return err
		}
		out = append(out, k)
		return nil
	})
	slices.SortFunc(out, func(a, b DataKey) int { return cmp.Compare(a.CreateIndex, b.CreateIndex) })
	return out, err
}

// ActiveDataKey returns the key new writes use; NotFound while the keyring is empty.
func (t *Tx) ActiveDataKey() (DataKey, error) {
	keys, err := t.ListDataKeys()
	if err != nil {
		return DataKey{}, err
	}
	for _, k := range keys {
		if k.Active {
			return k, nil
		}
	}
	return DataKey{}, fault.New(fault.NotFound, "the cluster keyring has no data key yet: the leader creates the first one when it is elected")
}
