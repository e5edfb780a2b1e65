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

// NextIndex allocates the state index of one applied command: the smallest index above every
// index allocated before and not below raftIndex, the Raft entry the command came in. A Raft
// entry may carry a batch of commands, so Raft indexes are not unique per command; state indexes
// are, and they are what CreateIndex and ModifyIndex hold, so that two writes never leave the
// same index behind (a check-and-set on a ModifyIndex names exactly one version). An unbatched
// command gets its Raft index while no batch has moved the counter ahead.
func (t *Tx) NextIndex(raftIndex uint64) (uint64, error) {
	b := t.tx.Bucket(bucketMeta)
	i := max(getUint(b.Get(keyStateIdx))+1, raftIndex)
	return i, b.Put(keyStateIdx, putUint(i))
}

// StateIndex is the last state index allocated (NextIndex): the newest CreateIndex or
// ModifyIndex this state can hold.
func (t *Tx) StateIndex() uint64 {
	return getUint(t.tx.Bucket(bucketMeta).Get(keyStateIdx))
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
