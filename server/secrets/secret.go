package secrets

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"strconv"
	"time"

	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// The store's buckets. Their names and the JSON of their records are in snapshots: never change
// them.
var (
	bucketSecrets = []byte("secrets/secrets") // name → Secret
	bucketMeta    = []byte("secrets/meta")    // "count" → number of secrets, uint64 big endian
)

var metaCount = []byte("count")

// Secret is one secret's record. Sealed is the value as keyring.Ring.Seal returned it for
// sealAAD(Name, ID, Version): the state never holds the plaintext.
type Secret struct {
	Name        string    `json:"name"`
	ID          string    `json:"id"`
	Description string    `json:"description,omitempty"`
	Version     uint64    `json:"version"`
	Sealed      []byte    `json:"sealed"`
	CreateIndex uint64    `json:"create_index"`
	ModifyIndex uint64    `json:"modify_index"`
	CreateTime  time.Time `json:"create_time"`
	ModifyTime  time.Time `json:"modify_time"`
	// CreatedBy and ModifiedBy name the principal of the request that wrote the first and the
	// current version ("user/ana", "token/ci"); "" when the cluster wrote it without a caller.
	CreatedBy  string `json:"created_by,omitempty"`
	ModifiedBy string `json:"modified_by,omitempty"`
}

// AuditDetail is what the audit trail says of a write: the version written, never the value.
func (s Secret) AuditDetail() string { return "version " + strconv.FormatUint(s.Version, 10) }

// sealAAD is the additional data a secret's value is sealed with: its name, the ID of this life
// of the secret and the version. A sealed value copied into another secret, into the same name
// after a delete and re-create, or over another version of the same secret does not open.
func sealAAD(name, id string, version uint64) []byte {
	return []byte("secretsmanager:" + name + "\x00" + id + "\x00" + strconv.FormatUint(version, 10))
}

// getSecret returns a secret's record; ok is false when there is none.
func getSecret(tx *state.Tx, name string) (Secret, bool, error) {
	return state.Get[Secret](tx, bucketSecrets, name)
}

// count is the number of secrets in the store.
func count(tx *state.Tx) uint64 {
	b := tx.Bucket(bucketMeta).Get(metaCount)
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func setCount(tx *state.Tx, n uint64) error {
	return tx.Bucket(bucketMeta).Put(metaCount, binary.BigEndian.AppendUint64(nil, n))
}

// putSecret writes a record, counting it when it is a new secret.
func putSecret(tx *state.Tx, s Secret, isNew bool) error {
	if err := state.Put(tx, bucketSecrets, s.Name, s); err != nil {
		return err
	}
	if isNew {
		return setCount(tx, count(tx)+1)
	}
	return nil
}

// deleteSecret removes an existing secret's record and uncounts it.
func deleteSecret(tx *state.Tx, name string) error {
	if err := state.Delete(tx, bucketSecrets, name); err != nil {
		return err
	}
	if n := count(tx); n > 0 {
		return setCount(tx, n-1)
	}
	return nil
}

// listSecrets returns, in name order, up to limit records whose name starts with prefix and
// comes after the name "after"; next is the name to continue after, "" when no more match.
func listSecrets(tx *state.Tx, prefix, after string, limit int) (out []Secret, next string, err error) {
	c := tx.Bucket(bucketSecrets).Cursor()
	p := []byte(prefix)
	var k, v []byte
	if after != "" && after >= prefix {
		k, v = c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, v = c.Next()
		}
	} else {
		k, v = c.Seek(p)
	}
	for ; k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		if len(out) == limit {
			return out, out[len(out)-1].Name, nil
		}
		var s Secret
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, "", fault.New(fault.Internal, "decode secret record %q: %v", k, err)
		}
		out = append(out, s)
	}
	return out, "", nil
}
