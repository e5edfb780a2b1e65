package state

import (
	"encoding/binary"
)

// ClusterID returns the cluster's identity, "" before the first leader set it.
func (t *Tx) ClusterID() string {
	return string(t.tx.Bucket(bucketMeta).Get(keyClusterID))
}

// SetClusterID records the cluster identity.
func (t *Tx) SetClusterID(id string) error {
	return t.tx.Bucket(bucketMeta).Put(keyClusterID, []byte(id))
}

// AppliedIndex is the index of the last Raft log entry applied to this state.
func (t *Tx) AppliedIndex() uint64 {
	return getUint(t.tx.Bucket(bucketMeta).Get(keyAppliedIdx))
}

// SetAppliedIndex records the last applied Raft index.
func (t *Tx) SetAppliedIndex(i uint64) error {
	return t.tx.Bucket(bucketMeta).Put(keyAppliedIdx, putUint(i))
}

// ACLBootstrapIndex is the index at which the cluster's first management token was created, or 0.
func (t *Tx) ACLBootstrapIndex() uint64 {
	return getUint(t.tx.Bucket(bucketMeta).Get(keyACLBoot))
}

// SetACLBootstrapIndex marks the ACL system as bootstrapped.
func (t *Tx) SetACLBootstrapIndex(i uint64) error {
	return t.tx.Bucket(bucketMeta).Put(keyACLBoot, putUint(i))
}

func putUint(i uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], i)
	return b[:]
}

func getUint(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}
