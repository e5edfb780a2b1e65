package api

import (
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Keyring is what the API needs from the cluster keyring.
type Keyring interface {
	// NewKey makes a wrapped data key for keyring.add (refused while this server cannot
	// unwrap the cluster's keys).
	NewKey(first bool) (command.KeyringAdd, error)
	Keys() ([]state.DataKey, error)
	KEKFingerprint() string
}

// keyUse is implemented by a blob store that knows how many of its files each key encrypts.
type keyUse interface {
	LocalKeyUse() map[string]int
}

func (s *Server) keyringView(k state.DataKey, use map[string]int) pub.KeyringKey {
	return pub.KeyringKey{ID: k.ID, Active: k.Active, KEKFingerprint: k.KEK, CreateTime: k.CreateTime, CreateIndex: k.CreateIndex, LocalBlobs: use[k.ID]}
}

// keyringGet lists the keyring's keys (ids, state, which KEK wrapped them; never key material)
// and how many of this server's blob files each one encrypts.
func (s *Server) keyringGet(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if s.cfg.Keyring == nil {
		return fault.New(fault.Unavailable, "this server has no keyring")
	}
	if err := s.readBarrier(r); err != nil {
		return err
	}
	keys, err := s.cfg.Keyring.Keys()
	if err != nil {
		return err
	}
	var use map[string]int
	if ku, ok := s.cfg.Blobs.(keyUse); ok {
		use = ku.LocalKeyUse()
	}
	out := pub.Keyring{Node: s.cfg.Cluster.ID(), KEKFingerprint: s.cfg.Keyring.KEKFingerprint(), Keys: []pub.KeyringKey{}, LocalUnencrypted: use[""]}
	for _, k := range keys {
		out.Keys = append(out.Keys, s.keyringView(k, use))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// keyringRotate adds a data key, generated and wrapped by this server, that becomes the active
// one; every server then re-encrypts its blob files under it in the background.
func (s *Server) keyringRotate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if s.cfg.Keyring == nil {
		return fault.New(fault.Unavailable, "this server has no keyring")
	}
	p, err := s.cfg.Keyring.NewKey(false)
	if err != nil {
		return err
	}
	res, err := s.apply(r, id, command.TypeKeyringAdd, p)
	if err != nil {
		return err
	}
	var k state.DataKey
	if err := decodeData(res, &k); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.keyringView(k, nil))
	return nil
}
