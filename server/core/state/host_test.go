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

// TestHostsByNamePagesInNameOrder: hosts come in name order (not ID order), starting after the
// given name, and a rename moves a host to its new place.
func TestHostsByNamePagesInNameOrder(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	hosts := map[string]string{"id-1": "web-c", "id-2": "web-a", "id-3": "db-1", "id-4": "web-b"}
	err = s.Update(func(tx *Tx) error {
		for id, name := range hosts {
			if _, err := tx.RegisterHost(Host{ID: id, Name: name, SecretHash: "s" + id}, 1, false); err != nil {
				return err
			}
		}
		// A rename: web-b becomes app-1, first in order.
		_, err := tx.RegisterHost(Host{ID: "id-4", Name: "app-1", SecretHash: "sid-4"}, 2, false)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	names := func(after string) (out []string) {
		_ = s.View(func(tx *Tx) error {
			for h, err := range tx.HostsByName(after) {
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, h.Name)
			}
			return nil
		})
		return out
	}
	if got, want := fmt.Sprint(names("")), "[app-1 db-1 web-a web-c]"; got != want {
		t.Errorf("all hosts: %s; want %s", got, want)
	}
	if got, want := fmt.Sprint(names("db-1")), "[web-a web-c]"; got != want {
		t.Errorf("after db-1: %s; want %s", got, want)
	}
	if got, want := fmt.Sprint(names("db-2")), "[web-a web-c]"; got != want {
		t.Errorf("after a name between hosts: %s; want %s", got, want)
	}
}
