package blob

import (
	"context"
	"errors"
	"maps"
	"time"
)

// Re-encryption under a new data key.
//
// After `slipway operator keyring rotate`, new files are written under the new active key at
// once, and every server's re-encryption job rewrites its older files under it in the
// background: a new file is written beside the old one, fsynced and renamed over it, so a crash
// leaves one whole file or the other. The job is bounded to RekeyRate bytes a second so that it
// does not compete with uploads and downloads, and runs in its own goroutine (runRekey), so that
// a long pass never holds up repair, collection or the temporary-file sweep. Reads opened on the
// old file keep reading it.
// Files written before encryption at rest are encrypted by the same job (once their content is
// checked against their address).
//
// Old data keys stay in the keyring: they are a few dozen bytes each, and no server can prove
// that no other server (one down, one restoring a backup) still holds a file under an old key.

// rekeyFullScanEvery is how many loop passes may go by without a scan of every local file while
// the active key does not change: files received from a peer that had not yet applied a rotation
// arrive under the key before it, and are caught by the next full scan.
const rekeyFullScanEvery = 60

// LocalKeyUse returns how many of this server's blob files each data key encrypts, as of the
// last scan of the re-encryption job ("" counts files not encrypted yet); nil before the first.
func (s *Service) LocalKeyUse() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.keyUse)
}

// runRekey runs the re-encryption job until ctx ends: a pass at once, then one at a time every
// Interval (a pass that takes longer delays the next one, never the repair loop).
func (s *Service) runRekey(ctx context.Context) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		s.rekey(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// rekey rewrites local blob files that are not under the active data key.
func (s *Service) rekey(ctx context.Context) {
	if s.cfg.Keys.ActiveID() == "" {
		return // no key yet
	}
	active, _, err := s.cfg.Keys.Active()
	if msg := errString(err); msg != s.keyErr {
		s.keyErr = msg
		if err != nil {
			s.log.Error("this server cannot use the cluster keyring: it stores and serves no blobs until this is fixed", "error", err)
		} else {
			s.log.Info("the cluster keyring is usable again")
		}
	}
	if err != nil {
		return
	}
	s.rekeyPass++
	if active == s.rekeyClean && s.rekeyPass%rekeyFullScanEvery != 0 {
		return
	}
	locals, err := s.store.List()
	if err != nil {
		s.log.Warn("blob re-encryption: list", "error", err)
		return
	}
	use := map[string]int{}
	start, written := time.Now(), int64(0)
	pace := func(n int64) error {
		want := time.Duration(float64(written+n) / float64(s.cfg.RekeyRate) * float64(time.Second))
		if wait := want - time.Since(start); wait > 0 {
			t := time.NewTimer(wait)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
		}
		return nil
	}
	clean := true
	for _, l := range locals {
		if ctx.Err() != nil {
			return
		}
		id, err := s.store.KeyID(l.SHA256)
		if err != nil && !errors.Is(err, errNotEncrypted) {
			continue // removed meanwhile, or unreadable: the read path reports it
		}
		if id == active {
			use[id]++
			continue
		}
		var done int64
		err = s.store.rewrite(l.SHA256, func(n int64) error { done = n; return pace(n) })
		written += done
		if errors.Is(err, errFileChanged) {
			clean = false // replaced or removed meanwhile: the next full scan looks at it again
			continue
		}
		if err != nil {
			clean = false
			use[id]++
			if ctx.Err() == nil {
				s.log.Warn("blob re-encryption failed; will retry", "sha256", l.SHA256, "from_key", id, "error", err)
			}
			continue
		}
		use[active]++
		s.log.Info("blob re-encrypted under the active data key", "sha256", l.SHA256, "from_key", id, "to_key", active)
	}
	if clean {
		s.rekeyClean = active
	}
	s.mu.Lock()
	s.keyUse = use
	s.mu.Unlock()
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
