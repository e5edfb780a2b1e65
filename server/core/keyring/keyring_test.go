package keyring

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/state"
)

func TestKEKFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kek")
	k, err := CreateKEKFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
	if _, err := CreateKEKFile(path); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("overwrite: %v", err)
	}
	l, err := LoadKEKFile(path)
	if err != nil || l.Fingerprint() != k.Fingerprint() {
		t.Fatalf("load: %v", err)
	}
	cases := map[string]struct {
		content string
		mode    os.FileMode
		want    string
	}{
		"missing":        {"", 0, "does not exist"},
		"too short":      {base64.StdEncoding.EncodeToString(make([]byte, 16)), 0o600, "decodes to 16 bytes"},
		"not base64":     {"not a key at all!", 0o600, "not base64"},
		"group-readable": {base64.StdEncoding.EncodeToString(make([]byte, 32)), 0o640, "chmod 600"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			if tc.mode != 0 {
				if err := os.WriteFile(p, []byte(tc.content), tc.mode); err != nil {
					t.Fatal(err)
				}
				_ = os.Chmod(p, tc.mode)
			}
			_, err := LoadKEKFile(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("%v, want an error naming %s and saying %q", err, p, tc.want)
			}
		})
	}
	if _, err := LoadKEKFile(""); err == nil || !strings.Contains(err.Error(), "--keyring-kek-file") || !strings.Contains(err.Error(), CreateCommand) {
		t.Fatalf("no file: %v", err)
	}
}

func TestWrapBindsIDAndKEK(t *testing.T) {
	a, _ := NewKEK(bytes.Repeat([]byte{1}, 32))
	b, _ := NewKEK(bytes.Repeat([]byte{2}, 32))
	key := bytes.Repeat([]byte{7}, 32)
	w, err := Wrap(a, "dk-1", key)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(w, key) {
		t.Fatal("wrapped key holds the plaintext")
	}
	if got, err := Unwrap(a, "dk-1", w); err != nil || !bytes.Equal(got, key) {
		t.Fatalf("unwrap: %v", err)
	}
	if _, err := Unwrap(a, "dk-2", w); err == nil {
		t.Fatal("unwrapped under another id")
	}
	if _, err := Unwrap(b, "dk-1", w); err == nil {
		t.Fatal("unwrapped with another KEK")
	}
	if a.Fingerprint() == b.Fingerprint() {
		t.Fatal("two KEKs share a fingerprint")
	}
}

// newRing returns a ring over a real state with keyring.add applied through the FSM.
func newRing(t *testing.T, kek *KEK) (*Ring, *fsm.FSM) {
	t.Helper()
	dir := t.TempDir()
	st, err := state.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	r, err := New(kek, "test.kek", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.SetState(st)
	r.wait = 50 * time.Millisecond
	table := fsm.NewTable()
	return r, fsm.New(st, table, nil)
}

func addKey(t *testing.T, r *Ring, f *fsm.FSM, first bool, index uint64) command.Result {
	t.Helper()
	p, err := r.NewKey(first)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := command.New(command.TypeKeyringAdd, "", time.Unix(100, 0), p)
	return apply(t, f, index, c)
}

func apply(t *testing.T, f *fsm.FSM, index uint64, c *command.Command) command.Result {
	t.Helper()
	data, err := command.Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	res, ok := f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: data}).(command.Result)
	if !ok {
		t.Fatal("no result")
	}
	return res
}

func TestRingSealOpenAndRotation(t *testing.T) {
	kek, _ := NewKEK(bytes.Repeat([]byte{3}, 32))
	r, f := newRing(t, kek)
	if _, err := r.Seal([]byte("x"), nil); err == nil {
		t.Fatal("sealed with an empty keyring")
	}
	if res := addKey(t, r, f, true, 1); res.Err() != nil {
		t.Fatal(res.Err())
	}
	if res := addKey(t, r, f, true, 2); res.Err() == nil {
		t.Fatal("a second first key was accepted")
	}
	secret := []byte("db-password-hunter2")
	sealed, err := r.Seal(secret, []byte("build-secret:web/DB"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed value holds the plaintext")
	}
	first := r.ActiveID()
	if res := addKey(t, r, f, false, 3); res.Err() != nil {
		t.Fatal(res.Err())
	}
	if r.ActiveID() == first {
		t.Fatal("rotation did not change the active key")
	}
	got, err := r.Open(sealed, []byte("build-secret:web/DB"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open after rotation: %v", err)
	}
	if _, err := r.Open(sealed, []byte("build-secret:web/OTHER")); err == nil {
		t.Fatal("opened under another record's identity")
	}
	bad := bytes.Clone(sealed)
	bad[len(bad)-1] ^= 1
	if _, err := r.Open(bad, []byte("build-secret:web/DB")); err == nil {
		t.Fatal("opened a damaged value")
	}
	keys, _ := r.Keys()
	if len(keys) != 2 || keys[0].Active || !keys[1].Active {
		t.Fatalf("keys %+v", keys)
	}
	// A key wrapped by another KEK is refused by the FSM.
	other, _ := NewKEK(bytes.Repeat([]byte{4}, 32))
	r2, _ := newRing(t, other)
	p, _ := r2.NewKey(true)
	p.First = false
	c, _ := command.New(command.TypeKeyringAdd, "", time.Unix(100, 0), p)
	if res := apply(t, f, 4, c); res.Err() == nil || !strings.Contains(res.Err().Error(), "another --keyring-kek-file") {
		t.Fatalf("a key under another KEK: %v", res.Err())
	}
}

func TestDataDirRemembersKEKAndKeys(t *testing.T) {
	kek, _ := NewKEK(bytes.Repeat([]byte{5}, 32))
	r, f := newRing(t, kek)
	if res := addKey(t, r, f, true, 1); res.Err() != nil {
		t.Fatal(res.Err())
	}
	id, key, err := r.Active()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(r.path)
	raw, _ := os.ReadFile(r.path)
	if bytes.Contains(raw, key) || bytes.Contains(raw, []byte(base64.StdEncoding.EncodeToString(key))) {
		t.Fatal("keyring.json holds a plaintext key")
	}
	other, _ := NewKEK(bytes.Repeat([]byte{6}, 32))
	if _, err := New(other, "other.kek", dir, nil); err == nil || !strings.Contains(err.Error(), "not the one this server's data was written with") {
		t.Fatalf("another KEK on this data dir: %v", err)
	}
	// A state without the key (a restored older snapshot) still yields it from keyring.json.
	r2, _ := New(kek, "test.kek", dir, nil)
	st, _ := state.Open(filepath.Join(t.TempDir(), "empty.db"))
	defer func() { _ = st.Close() }()
	r2.SetState(st)
	r2.wait = 10 * time.Millisecond
	got, err := r2.Key(id)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("key from keyring.json: %v", err)
	}
}

func TestKEKDerive(t *testing.T) {
	raw := make([]byte, KeySize)
	k1, _ := NewKEK(raw)
	k2, _ := NewKEK(raw)
	raw[0] = 1
	other, _ := NewKEK(raw)
	a, err := k1.Derive("git ssh host key", 32)
	if err != nil || len(a) != 32 {
		t.Fatalf("Derive: %d bytes, %v", len(a), err)
	}
	b, _ := k2.Derive("git ssh host key", 32)
	c, _ := k1.Derive("another purpose", 32)
	d, _ := other.Derive("git ssh host key", 32)
	if string(a) != string(b) {
		t.Error("the same KEK derived different bytes for one purpose")
	}
	if string(a) == string(c) || string(a) == string(d) || string(a) == string(raw) {
		t.Error("another purpose or another KEK derived the same bytes")
	}
}
