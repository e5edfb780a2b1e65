package deploy

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"

	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// bucketByHost indexes deployments by the hosts they target: host id | 0 | create index (8 bytes,
// big-endian) | deployment id -> nil, so a host's deployments are read in creation order, either
// way, without reading anyone else's. Apply writes a deployment's entries when it creates its
// targets (createDeployment) and never removes them: deployments are not deleted, and a deleted
// host's entries stay as its history. It is a derived bucket (module.Registry.Index):
// buildByHost fills it in from the deployments when a snapshot of an earlier release, which
// lacks it, is restored.
var bucketByHost = []byte("deploy/by_host")

func byHostKey(hostID string, createIndex uint64, depID string) []byte {
	k := make([]byte, 0, len(hostID)+9+len(depID))
	k = binary.BigEndian.AppendUint64(append(append(k, hostID...), 0), createIndex)
	return append(k, depID...)
}

// indexByHost records that deployment d targets the host.
func indexByHost(tx *state.Tx, d *Deployment, hostID string) error {
	return tx.Bucket(bucketByHost).Put(byHostKey(hostID, d.CreateIndex, d.ID), nil)
}

// buildByHost fills bucketByHost from every deployment's targets, whatever its layout: a pure
// function of the state (see bucketByHost).
func buildByHost(tx *state.Tx) error {
	c := tx.Bucket(bucketDeployments).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var d Deployment
		if err := json.Unmarshal(v, &d); err != nil {
			return fault.New(fault.Internal, "decode deployment %s: %v", k, err)
		}
		for id := range d.Targets { // layout 0
			if err := indexByHost(tx, &d, id); err != nil {
				return err
			}
		}
		prefix := append([]byte(d.ID), 0)
		tc := tx.Bucket(bucketTargets).Cursor()
		for tk, _ := tc.Seek(prefix); tk != nil && bytes.HasPrefix(tk, prefix); tk, _ = tc.Next() {
			if err := indexByHost(tx, &d, string(tk[len(prefix):])); err != nil {
				return err
			}
		}
	}
	return nil
}

// deploymentsOfHost yields the IDs and create indexes of the deployments that target a host,
// oldest first after the create index after (0: from the first), or newest first before it
// (0: from the newest), until yield returns false.
func deploymentsOfHost(tx *state.Tx, hostID string, newest bool, after uint64, yield func(id string, createIndex uint64) bool) {
	prefix := append([]byte(hostID), 0)
	c := tx.Bucket(bucketByHost).Cursor()
	var k []byte
	if !newest {
		k, _ = c.Seek(byHostKey(hostID, after+1, ""))
	} else {
		if after == 0 {
			after = math.MaxUint64
		}
		// The first key at or past the bound; the one before it is the newest below it.
		if k, _ = c.Seek(byHostKey(hostID, after, "")); k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
	}
	for ; k != nil && bytes.HasPrefix(k, prefix) && len(k) >= len(prefix)+8; k = step(c, newest) {
		idx := binary.BigEndian.Uint64(k[len(prefix):])
		if !yield(string(k[len(prefix)+8:]), idx) {
			return
		}
	}
}

func step(c interface {
	Next() ([]byte, []byte)
	Prev() ([]byte, []byte)
}, back bool) []byte {
	if back {
		k, _ := c.Prev()
		return k
	}
	k, _ := c.Next()
	return k
}
