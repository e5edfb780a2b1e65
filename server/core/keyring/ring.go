package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Ring is one server's view of the cluster keyring: the wrapped data keys in the replicated state,
// unwrapped with this server's KEK on first use and kept in memory.
type Ring struct {
	kek     *KEK
	kekFile string
	st      *state.Store
	// wait bounds how long Key waits for a data key this server has not applied yet (a peer may
	// send a blob written under a key committed a moment ago).
	wait time.Duration

	mu    sync.Mutex
	plain map[string][]byte // unwrapped data keys by id
	local localRecord       // DATA/keyring.json
	path  string
}

// New returns the ring of a server whose KEK was loaded from kekFile (named in messages) and
// whose data is in dataDir. It compares kek with the one dataDir was last served with (recorded
// in DATA/keyring.json) and refuses another: the data keys, blobs and sealed records there would
// not decrypt.
func New(kek *KEK, kekFile, dataDir string, st *state.Store) (*Ring, error) {
	r := &Ring{kek: kek, kekFile: kekFile, st: st, wait: 5 * time.Second, plain: map[string][]byte{}, path: filepath.Join(dataDir, localFile)}
	b, err := os.ReadFile(r.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		r.local.KEKFingerprint = kek.Fingerprint()
		return r, r.saveLocal()
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", r.path, err)
	}
	if err := json.Unmarshal(b, &r.local); err != nil {
		return nil, fmt.Errorf("%s is damaged (%w): restore it, or remove it if --keyring-kek-file is surely the cluster's", r.path, err)
	}
	if r.local.KEKFingerprint != kek.Fingerprint() {
		return nil, fmt.Errorf("the key-encryption key file %s (fingerprint %s) is not the one this server's data was written with (fingerprint %s, recorded in %s): its data keys and blobs would not decrypt; start it with the cluster's --keyring-kek-file",
			kekFile, kek.Fingerprint(), r.local.KEKFingerprint, r.path)
	}
	return r, nil
}

// SetState gives the ring the replicated state it reads data keys from. New runs before the Raft
// member opens (so a wrong KEK is refused before the node takes part in anything); the member's
// state is set once it exists, before any other method is called.
func (r *Ring) SetState(st *state.Store) { r.st = st }

// KEKFingerprint names this server's key-encryption key.
func (r *Ring) KEKFingerprint() string { return r.kek.Fingerprint() }

// wrongKEK is the refusal of a server whose KEK did not wrap the cluster's keys.
func (r *Ring) wrongKEK(clusterFP string) error {
	// Internal, not Unavailable: clients retry unavailable answers, and waiting fixes nothing.
	return fault.New(fault.Internal,
		"this server's key-encryption key (%s, fingerprint %s) is not the one that wrapped the cluster's data keys (fingerprint %s): it cannot decrypt or encrypt blobs and serves none; restart it with the cluster's --keyring-kek-file",
		r.kekFile, r.kek.Fingerprint(), clusterFP)
}

// unwrap returns the plaintext of a data key record, from the cache when it was unwrapped before.
func (r *Ring) unwrap(k state.DataKey) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.plain[k.ID]; ok {
		return p, nil
	}
	if k.KEK != r.kek.Fingerprint() {
		return nil, r.wrongKEK(k.KEK)
	}
	p, err := Unwrap(r.kek, k.ID, k.Wrapped)
	if err != nil {
		return nil, fault.New(fault.Internal, "data key %s does not unwrap with this server's key-encryption key (%s): %v", k.ID, r.kekFile, err)
	}
	r.plain[k.ID] = p
	r.remember(k.ID, k.Wrapped)
	return p, nil
}

// Active returns the id and plaintext of the key new writes use. While the keyring is empty (a
// new cluster whose leader has not created the first key, or a server that has not applied it
// yet) it waits a bounded time for it.
func (r *Ring) Active() (string, []byte, error) {
	deadline := time.Now().Add(r.wait)
	for {
		var k state.DataKey
		err := r.st.View(func(tx *state.Tx) error {
			var err error
			k, err = tx.ActiveDataKey()
			return err
		})
		if err == nil {
			p, err := r.unwrap(k)
			return k.ID, p, err
		}
		if fault.CodeOf(err) != fault.NotFound {
			return "", nil, err
		}
		if time.Now().After(deadline) {
			return "", nil, fault.New(fault.Unavailable, "the cluster keyring has no data key yet (the leader creates the first one once elected); retry in a moment")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ActiveID returns the id of the active key ("" while the keyring is empty).
func (r *Ring) ActiveID() string {
	var id string
	_ = r.st.View(func(tx *state.Tx) error {
		k, err := tx.ActiveDataKey()
		id = k.ID
		return err
	})
	return id
}

// Key returns the plaintext of data key id. A key this server has not applied yet is waited for
// (bounded), since a peer may hand over a file written under a key committed a moment ago.
func (r *Ring) Key(id string) ([]byte, error) {
	r.mu.Lock()
	p, ok := r.plain[id]
	r.mu.Unlock()
	if ok {
		return p, nil
	}
	deadline := time.Now().Add(r.wait)
	for {
		var k state.DataKey
		err := r.st.View(func(tx *state.Tx) error {
			var err error
			k, err = tx.GetDataKey(id)
			return err
		})
		if err == nil {
			return r.unwrap(k)
		}
		if p, ok := r.localKey(id); ok {
			return p, nil
		}
		if fault.CodeOf(err) != fault.NotFound || time.Now().After(deadline) {
			return nil, fault.New(fault.Unavailable, "data key %s is not in this server's keyring (%v); the file was written under a key this server does not know", id, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Check verifies that this server's KEK unwraps every data key of the cluster. It is nil while
// the keyring is empty.
func (r *Ring) Check() error {
	keys, err := r.Keys()
	if err != nil {
		return err
	}
	for _, k := range keys {
		if _, err := r.unwrap(k); err != nil {
			return err
		}
	}
	return nil
}

// Empty reports whether the cluster keyring has no key yet.
func (r *Ring) Empty() bool {
	keys, _ := r.Keys()
	return len(keys) == 0
}

// Keys returns the keyring's records (wrapped keys only), oldest first.
func (r *Ring) Keys() ([]state.DataKey, error) {
	var keys []state.DataKey
	err := r.st.View(func(tx *state.Tx) error {
		var err error
		keys, err = tx.ListDataKeys()
		return err
	})
	return keys, err
}

// NewKey generates a data key, wraps it with this server's KEK and returns the keyring.add
// payload that adds it as the active key; first marks the cluster's first key. It refuses while
// this server cannot unwrap the cluster's existing keys, so a server with the wrong KEK file
// never adds a key that the others cannot read. The plaintext key is dropped here: every server,
// this one included, unwraps it from the state when it first uses it.
func (r *Ring) NewKey(first bool) (command.KeyringAdd, error) {
	if !first {
		if err := r.Check(); err != nil {
			return command.KeyringAdd{}, err
		}
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return command.KeyringAdd{}, err
	}
	idb := make([]byte, 8)
	if _, err := rand.Read(idb); err != nil {
		return command.KeyringAdd{}, err
	}
	id := "dk-" + hex.EncodeToString(idb)
	wrapped, err := Wrap(r.kek, id, key)
	if err != nil {
		return command.KeyringAdd{}, err
	}
	clear(key)
	return command.KeyringAdd{ID: id, Wrapped: wrapped, KEK: r.kek.Fingerprint(), First: first}, nil
}

// wrapAD is the additional data of a wrapped key: it binds the wrapped bytes to the key's ID,
// so a wrapped key copied under another ID does not unwrap.
func wrapAD(id string) []byte { return []byte("slipway data key v1\x00" + id) }

// Wrap encrypts a data key under the KEK: nonce || AES-256-GCM(key), with the ID as additional data.
func Wrap(kek *KEK, id string, key []byte) ([]byte, error) {
	g, err := newGCM(kek.key[:])
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return g.Seal(nonce, nonce, key, wrapAD(id)), nil
}

// Unwrap reverses Wrap; a wrong KEK, ID or damaged bytes fail.
func Unwrap(kek *KEK, id string, wrapped []byte) ([]byte, error) {
	g, err := newGCM(kek.key[:])
	if err != nil {
		return nil, err
	}
	if len(wrapped) < g.NonceSize()+g.Overhead() {
		return nil, errors.New("wrapped key too short")
	}
	key, err := g.Open(nil, wrapped[:g.NonceSize()], wrapped[g.NonceSize():], wrapAD(id))
	if err != nil {
		return nil, errors.New("authentication failed")
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("unwrapped key is %d bytes", len(key))
	}
	return key, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// localFile records, in a server's data dir, the fingerprint of the KEK its data was written
// with, and every data key (wrapped) this server has used. The wrapped keys make a snapshot
// restore safe: a restored state may lack keys created after the snapshot, under which this
// server's files may already have been re-encrypted; the server still reads them.
const localFile = "keyring.json"

type localRecord struct {
	KEKFingerprint string       `json:"kek_fingerprint"`
	Keys           []wrappedKey `json:"keys,omitempty"`
}

type wrappedKey struct {
	ID      string `json:"id"`
	Wrapped []byte `json:"wrapped"`
}

// saveLocal writes DATA/keyring.json atomically. The caller holds r.mu (or owns r).
func (r *Ring) saveLocal() error {
	b, err := json.Marshal(r.local)
	if err != nil {
		return err
	}
	tmp := r.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("record keyring: %w", err)
	}
	_, werr := f.Write(b)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("record keyring: %w", err)
	}
	return os.Rename(tmp, r.path)
}

// remember adds a wrapped key to DATA/keyring.json. The caller holds r.mu.
func (r *Ring) remember(id string, wrapped []byte) {
	for _, k := range r.local.Keys {
		if k.ID == id {
			return
		}
	}
	r.local.Keys = append(r.local.Keys, wrappedKey{ID: id, Wrapped: wrapped})
	_ = r.saveLocal() // best effort: the state holds the key too
}

// localKey returns a data key this server remembers but the state does not hold.
func (r *Ring) localKey(id string) ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range r.local.Keys {
		if k.ID == id {
			p, err := Unwrap(r.kek, id, k.Wrapped)
			if err != nil {
				return nil, false
			}
			r.plain[id] = p
			return p, true
		}
	}
	return nil, false
}

// Derive returns n bytes derived from this server's KEK for purpose (KEK.Derive): the same on
// every server of the cluster.
func (r *Ring) Derive(purpose string, n int) ([]byte, error) { return r.kek.Derive(purpose, n) }
