package state

import (
	"fmt"
	"path/filepath"
	"testing"
)

// TestHostSecretTombstonesBoundedWithIDs: a deleted host's secret is remembered with its ID and
// forgotten with it, oldest first, once more than MaxHostTombstones are kept.
func TestHostSecretTombstonesBoundedWithIDs(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	bound := 100
	defer func(old int) { tombstoneBound = old }(tombstoneBound)
	tombstoneBound = bound
	secret := func(i int) string { return fmt.Sprintf("%064d", i) }
	err = s.Update(func(tx *Tx) error {
		for i := 1; i <= bound+1; i++ {
			if err := tx.AddHostTombstone(HostTombstone{HostID: fmt.Sprintf("h%d", i), SecretHash: secret(i), DeleteIndex: uint64(i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.View(func(tx *Tx) error {
		if _, dead, _ := tx.HostSecretTombstoneOf(secret(1)); dead {
			t.Error("the oldest tombstone's secret is still remembered past the bound")
		}
		if _, dead, _ := tx.HostTombstoneOf("h1"); dead {
			t.Error("the oldest tombstone's id is still remembered past the bound")
		}
		ts, dead, _ := tx.HostSecretTombstoneOf(secret(2))
		if !dead || ts.HostID != "h2" {
			t.Errorf("secret of h2: %+v %v; want remembered as h2's", ts, dead)
		}
		if ts, dead, _ := tx.HostSecretTombstoneOf(secret(bound + 1)); !dead || ts.HostID != fmt.Sprintf("h%d", bound+1) {
			t.Errorf("newest secret: %+v %v", ts, dead)
		}
		n := 0
		c := tx.tx.Bucket(bucketHostSecretTombs).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			n++
		}
		if n != bound {
			t.Errorf("%d secret tombstones kept; want %d", n, bound)
		}
		return nil
	})
}
