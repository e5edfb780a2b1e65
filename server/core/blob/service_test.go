package blob

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/raftstore"
	"github.com/slipwayhq/slipway/server/core/state"
)

// fakeCluster is a Raft member that is never leader and applies nothing.
type fakeCluster struct {
	id     string
	voters []raftstore.Server
}

func (c *fakeCluster) ID() string     { return c.id }
func (c *fakeCluster) IsLeader() bool { return false }
func (c *fakeCluster) Apply(context.Context, *command.Command) (command.Result, error) {
	return command.Result{}, errors.New("fake cluster: no Raft")
}
func (c *fakeCluster) Voters() ([]raftstore.Server, error) { return c.voters, nil }

// peerNet connects services by address over in-memory pipes: dialing addr runs its handler on
// the other end (as the Raft port's mux would after the protocol byte).
type peerNet map[string]func(net.Conn)

func (p peerNet) dial(_ context.Context, addr string, _ byte) (net.Conn, error) {
	h, ok := p[addr]
	if !ok {
		return nil, fmt.Errorf("no server at %s", addr)
	}
	a, b := net.Pipe()
	go h(b)
	return a, nil
}

// newTestService opens a service named id whose cluster is the voters ids (address = id).
func newTestService(t *testing.T, id string, keys Keys, pn peerNet, cfg Config, ids ...string) *Service {
	t.Helper()
	st, err := state.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	var voters []raftstore.Server
	for _, v := range ids {
		voters = append(voters, raftstore.Server{ID: v, RaftAddr: v, Voter: true})
	}
	cfg.Dir, cfg.Keys, cfg.Dial = t.TempDir(), keys, pn.dial
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(cfg, &fakeCluster{id: id, voters: voters}, st)
	if err != nil {
		t.Fatal(err)
	}
	pn[id] = s.ServeConn
	return s
}

// plantLegacy writes data as a blob file from before encryption at rest (plaintext) and
// returns its address.
func plantLegacy(t *testing.T, s *Store, data []byte) string {
	t.Helper()
	sha := sum(data)
	if err := os.MkdirAll(filepath.Dir(s.Path(sha)), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.Path(sha), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return sha
}

// markedData is n random bytes with a marker string in the middle.
func markedData(n int) ([]byte, []byte) {
	data := randomBytes(n)
	marker := []byte("SLIPWAY-MARKER-" + fmt.Sprintf("%x", randomBytes(8)))
	copy(data[n/2:], marker)
	return data, marker
}

// filesHolding returns the files under dir that contain needle.
func filesHolding(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, needle) {
			hits = append(hits, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFetchFromPeerWithPlaintextFile: after an upgrade, a server repairing a blob from a peer
// whose file of it is still the pre-encryption plaintext gets it encrypted: the peer encrypts
// its file before sending, no plaintext crosses or lands in the fetcher's data dir, and the
// fetch succeeds at once. Found by review: the peer sent its plaintext file with an empty
// file_id, the fetcher staged it in tmp/X.part and then discarded it on every repair pass.
func TestFetchFromPeerWithPlaintextFile(t *testing.T) {
	keys := newTestKeys()
	pn := peerNet{}
	a := newTestService(t, "a", keys, pn, Config{}, "a", "b")
	b := newTestService(t, "b", keys, pn, Config{}, "a", "b")
	data, marker := markedData(3*chunkSize + 11)
	sha := plantLegacy(t, b.store, data)

	if err := a.fetch(t.Context(), "b", sha, int64(len(data))); err != nil {
		t.Fatalf("fetch from a peer holding a pre-encryption file: %v", err)
	}
	if hits := filesHolding(t, a.cfg.Dir, marker); len(hits) != 0 {
		t.Fatalf("plaintext in the fetcher's data dir: %v", hits)
	}
	if hits := filesHolding(t, b.cfg.Dir, marker); len(hits) != 0 {
		t.Fatalf("the peer's file was not encrypted before it was sent: %v", hits)
	}
	f, err := a.store.Open(sha)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	_ = f.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("fetched blob reads back: %v, equal %v", err, bytes.Equal(got, data))
	}
	// Pushing a pre-encryption file encrypts it first too.
	data2, marker2 := markedData(chunkSize + 3)
	sha2 := plantLegacy(t, a.store, data2)
	if err := a.push(t.Context(), "b", sha2); err != nil {
		t.Fatalf("push of a pre-encryption file: %v", err)
	}
	for _, dir := range []string{a.cfg.Dir, b.cfg.Dir} {
		if hits := filesHolding(t, dir, marker2); len(hits) != 0 {
			t.Fatalf("plaintext left after a push: %v", hits)
		}
	}
}

// TestFetchRefusesUnencryptedReply: a peer (of an older build, or broken) that answers a get with
// no file_id, i.e. a file without the encrypted header, is refused before the fetcher reads a
// byte of the file, so none of it reaches the fetcher's disk.
func TestFetchRefusesUnencryptedReply(t *testing.T) {
	keys := newTestKeys()
	pn := peerNet{}
	a := newTestService(t, "a", keys, pn, Config{}, "a", "old")
	data, marker := markedData(2 * chunkSize)
	sent := make(chan error, 1)
	release := make(chan struct{})
	defer close(release)
	pn["old"] = func(conn net.Conn) {
		defer func() { _ = conn.Close() }()
		var req peerRequest
		if err := readLine(bufio.NewReader(conn), &req); err != nil {
			sent <- err
			return
		}
		// One byte more than it sends, so a fetcher that reads the file waits for the rest.
		_ = writeLine(conn, peerReply{Size: int64(len(data)) + 1})
		_, err := conn.Write(data) // a pipe write returns once the reader has taken every byte
		sent <- err
		if err == nil {
			<-release
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.fetch(ctx, "old", sum(data), int64(len(data))) }()
	if err := <-sent; err == nil {
		cancel()
		ferr := <-done
		t.Fatalf("the fetcher read the whole plaintext file of a peer that sent no file_id (fetch: %v); in its data dir: %v", ferr, filesHolding(t, a.cfg.Dir, marker))
	}
	err := <-done
	cancel()
	if err == nil || !strings.Contains(err.Error(), "not encrypted") {
		t.Fatalf("fetch from a peer sending an unencrypted file: %v, want a refusal saying it is not encrypted", err)
	}
	if hits := filesHolding(t, a.cfg.Dir, marker); len(hits) != 0 {
		t.Fatalf("plaintext in the fetcher's data dir: %v", hits)
	}
}

// TestRepairRunsDuringSlowReEncryption: a re-encryption pass, paced to RekeyRate, does not hold
// up the repair loop: a blob registered while a pass is crawling is still fetched. Found by
// review: repair, collection and re-encryption ran in one goroutine, so a 100 GiB store at
// 32 MiB/s had no repair or collection for ~53 minutes.
func TestRepairRunsDuringSlowReEncryption(t *testing.T) {
	keys := newTestKeys()
	pn := peerNet{}
	cfg := Config{Interval: 10 * time.Millisecond, RekeyRate: 1} // one byte a second: a pass never ends
	a := newTestService(t, "a", keys, pn, cfg, "a", "b")
	b := newTestService(t, "b", keys, pn, cfg, "a", "b")
	writeBlob(t, a.store, randomBytes(chunkSize)) // under dk-1, so the job has work after the rotation
	keys.rotate("dk-2")
	data := randomBytes(1000)
	sha := writeBlob(t, b.store, data)

	ctx, cancel := context.WithCancel(t.Context())
	stopped := make(chan struct{})
	go func() { defer close(stopped); a.Run(ctx) }()
	defer func() { cancel(); <-stopped }()
	waitFor(t, 20*time.Second, "the re-encryption job to start rewriting", func() bool {
		entries, _ := os.ReadDir(a.store.tmpDir())
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "rekey-") {
				return true
			}
		}
		return false
	})
	if err := a.state.Update(func(tx *state.Tx) error {
		_, err := tx.Blobs().Put(state.Blob{SHA256: sha, Size: int64(len(data)), CreateTime: time.Now()})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the repair loop to fetch a blob while re-encryption runs", func() bool { return a.store.Has(sha) })
}

// TestRewriteKeepsAFileThatReplacedIt: a rewrite of a pre-encryption file whose content is wrong
// removes it only while the path is still that file. Found by review: Store.Open and the
// re-encryption job rewrite concurrently; one removed the bad file, repair placed a good one, and
// the other then removed the good one by path (data loss if this server was its only holder).
func TestRewriteKeepsAFileThatReplacedIt(t *testing.T) {
	keys := newTestKeys()
	s, err := OpenStore(t.TempDir(), 0, keys)
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(2*chunkSize + 9)
	sha := sum(data)
	if err := os.MkdirAll(filepath.Dir(s.Path(sha)), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.Path(sha), randomBytes(len(data)), 0o600); err != nil { // not its content
		t.Fatal(err)
	}
	replaced := false
	err = s.rewrite(sha, func(int64) error {
		if !replaced { // meanwhile: the bad file goes, and a good copy is placed (as repair does)
			replaced = true
			if err := os.Remove(s.Path(sha)); err != nil {
				return err
			}
			writeBlob(t, s, data)
		}
		return nil
	})
	if !errors.Is(err, errFileChanged) {
		t.Fatalf("rewrite of a file replaced meanwhile: %v, want errFileChanged", err)
	}
	f, err := s.Open(sha)
	if err != nil {
		t.Fatalf("the good file placed meanwhile is gone: %v", err)
	}
	got, err := io.ReadAll(f)
	_ = f.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the good file reads back: %v", err)
	}
	// Without interference the bad file is still removed.
	if err := os.Remove(s.Path(sha)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.Path(sha), randomBytes(len(data)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.rewrite(sha, nil); err == nil || errors.Is(err, errFileChanged) {
		t.Fatalf("rewrite of a bad pre-encryption file: %v, want its removal reported", err)
	}
	if s.Has(sha) {
		t.Fatal("a pre-encryption file with the wrong content was kept")
	}
}

// TestOpenStoreRemovesHeaderlessParts: a partial fetch without an encrypted header (left by a
// release before encryption at rest: plaintext) is removed when the store opens; an encrypted
// one is kept to resume.
func TestOpenStoreRemovesHeaderlessParts(t *testing.T) {
	keys := newTestKeys()
	dir := t.TempDir()
	s, err := OpenStore(dir, 0, keys)
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(chunkSize)
	sha := writeBlob(t, s, data)
	raw, err := os.ReadFile(s.Path(sha))
	if err != nil {
		t.Fatal(err)
	}
	plainPart, encPart := s.partPath(sum([]byte("old"))), s.partPath(sha)
	if err := os.WriteFile(plainPart, []byte("plaintext of an old partial fetch"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(encPart, raw[:len(raw)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStore(dir, 0, keys); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(plainPart); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a plaintext partial fetch was kept: %v", err)
	}
	if _, err := os.Stat(encPart); err != nil {
		t.Fatalf("an encrypted partial fetch was not kept to resume: %v", err)
	}
}
