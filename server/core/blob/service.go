package blob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/pkg/bytesize"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/raftstore"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Cluster is what the blob store needs from the node's Raft member.
type Cluster interface {
	ID() string
	Apply(ctx context.Context, c *command.Command) (command.Result, error)
	Voters() ([]raftstore.Server, error)
}

// Config configures a Service.
type Config struct {
	Dir string
	// MaxSize bounds one upload (default 2 GiB, CodeCommit's single-file limit).
	MaxSize int64
	// Grace is how long an unreferenced blob, an unrecorded file or an abandoned partial
	// transfer is kept before collection (default 1 h).
	Grace time.Duration
	// Interval is how often the repair and collection loop runs (default 5 s).
	Interval time.Duration
	// Reserve is how many bytes blob writes leave free on the file system of Dir, which also
	// holds the Raft log and state (0: no check). See Store.room.
	Reserve int64
	// Keys is the cluster keyring every blob file is encrypted under (required).
	Keys Keys
	// RekeyRate bounds how many bytes a second the background re-encryption under a new active
	// data key writes (default 32 MiB/s).
	RekeyRate int64
	Logger    *slog.Logger
	// Dial opens a connection to a peer's Raft port for protocol b, the protocol byte sent (the
	// node's DialPeer, which speaks the cluster's TLS). Nil dials plain TCP.
	Dial func(ctx context.Context, addr string, b byte) (net.Conn, error)
}

// DefaultMaxSize is the default upload limit.
const DefaultMaxSize int64 = 2 << 30

// Service is a server's part of the replicated blob store.
type Service struct {
	cfg     Config
	store   *Store
	cluster Cluster
	state   *state.Store
	log     *slog.Logger

	mu       sync.Mutex
	fetching map[string]*call // one fetch per blob at a time
	keyUse   map[string]int   // local files per data key, as of the last re-encryption scan

	// Owned by the re-encryption goroutine (runRekey).
	rekeyPass  int    // re-encryption passes, for the periodic full scan
	rekeyClean string // the active key every local file was under at the last full scan
	keyErr     string // the keyring error last logged
}

type call struct {
	done chan struct{}
	err  error
}

// New opens the store under cfg.Dir.
func New(cfg Config, cluster Cluster, st *state.Store) (*Service, error) {
	if cfg.MaxSize == 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	if cfg.Grace == 0 {
		cfg.Grace = time.Hour
	}
	if cfg.Interval == 0 {
		cfg.Interval = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RekeyRate == 0 {
		cfg.RekeyRate = 32 << 20
	}
	store, err := OpenStore(cfg.Dir, cfg.Reserve, cfg.Keys)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, store: store, cluster: cluster, state: st, log: cfg.Logger, fetching: map[string]*call{}}, nil
}

// MaxSize is the upload limit in bytes.
func (s *Service) MaxSize() int64 { return s.cfg.MaxSize }

// Verifier checks the content of an upload before it is stored: r holds the size bytes as they
// were uploaded. A non-nil error refuses the upload; it is returned to the uploader as is (so it
// should be a fault with a message saying what is wrong), and nothing is stored or recorded.
type Verifier = func(r io.ReaderAt, size int64) error

// Upload stores the bytes of r as a blob on a quorum of servers and records it. wantSHA ("" for
// none) and wantSize (-1 for none) are checked against what arrived, then verify (nil for none)
// is called on the complete content, before anything is placed, copied or recorded. It returns
// once the record is committed; on error nothing is recorded and no file is kept.
func (s *Service) Upload(ctx context.Context, r io.Reader, wantSHA string, wantSize int64, verify Verifier) (state.Blob, error) {
	if wantSHA != "" && !ValidSHA(wantSHA) {
		return state.Blob{}, fault.New(fault.Invalid, "declared sha256 %q is not 64 lowercase hex digits", wantSHA)
	}
	if wantSize > s.cfg.MaxSize {
		return state.Blob{}, fault.New(fault.TooLarge, "the upload is %d bytes, over the %d byte limit (%s)", wantSize, s.cfg.MaxSize, bytesize.Format(s.cfg.MaxSize))
	}
	sha, size, err := s.store.WriteVerified(r, wantSHA, wantSize, s.cfg.MaxSize, verify)
	if err != nil {
		return state.Blob{}, err
	}
	if rec, err := s.record(sha); err == nil {
		return rec, nil // already committed: a quorum holds it
	}
	if err := s.replicate(ctx, sha); err != nil {
		return state.Blob{}, err
	}
	c, err := command.New(command.TypeBlobRegister, "", time.Now(), command.BlobRegister{SHA256: sha, Size: size})
	if err != nil {
		return state.Blob{}, err
	}
	res, err := s.cluster.Apply(ctx, c)
	if err != nil {
		return state.Blob{}, err
	}
	if err := res.Err(); err != nil {
		return state.Blob{}, err
	}
	// The record comes from the result: this server may not have applied the command yet.
	var rec state.Blob
	if err := json.Unmarshal(res.Data, &rec); err != nil {
		return state.Blob{}, fmt.Errorf("decode blob record: %w", err)
	}
	return rec, nil
}

func (s *Service) record(sha string) (state.Blob, error) {
	var rec state.Blob
	err := s.state.View(func(tx *state.Tx) error {
		var err error
		rec, err = tx.Blobs().Get(sha)
		return err
	})
	return rec, err
}

// replicate pushes a local blob to the other voters until a quorum (this server included) holds
// it. Pushes still running then go on in the background.
func (s *Service) replicate(ctx context.Context, sha string) error {
	voters, err := s.cluster.Voters()
	if err != nil {
		return fault.New(fault.Unavailable, "read cluster members: %v", err)
	}
	need := len(voters)/2 + 1
	have := 0
	var peers []raftstore.Server
	for _, v := range voters {
		if v.ID == s.cluster.ID() {
			have++
		} else {
			peers = append(peers, v)
		}
	}
	if have >= need {
		return nil
	}
	bg, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
	results := make(chan error, len(peers))
	for _, p := range peers {
		go func() { results <- s.push(bg, p.RaftAddr, sha) }()
	}
	var errs []error
	for received := 1; received <= len(peers); received++ {
		select {
		case err := <-results:
			if err == nil {
				have++
			} else {
				errs = append(errs, err)
			}
		case <-ctx.Done():
			cancel()
			return fault.New(fault.Timeout, "upload cancelled while copying to other servers; nothing was recorded")
		}
		if have >= need {
			go func(left int) { // let the remaining pushes finish, then release their context
				for ; left > 0; left-- {
					if err := <-results; err != nil {
						s.log.Info("background push failed; the peer's repair loop will fetch the blob", "sha256", sha, "error", err)
					}
				}
				cancel()
			}(len(peers) - received)
			return nil
		}
	}
	cancel()
	return fault.New(fault.Unavailable, "the blob reached %d of %d servers, and %d are needed so that losing a minority loses nothing: %v; nothing was recorded, retry when more servers are up",
		have, len(voters), need, errors.Join(errs...))
}

// Open returns a reader of a committed blob's plaintext (seekable, decrypting only the chunks
// read), fetching the blob from a peer first if this server does not hold it yet. The caller
// closes it.
func (s *Service) Open(ctx context.Context, sha string) (io.ReadSeekCloser, state.Blob, error) {
	if !ValidSHA(sha) {
		return nil, state.Blob{}, fault.New(fault.Invalid, "%q is not a sha256", sha)
	}
	rec, err := s.record(sha)
	if err != nil {
		return nil, rec, err
	}
	if !s.store.Has(sha) {
		if err := s.fetchAny(ctx, rec); err != nil {
			return nil, rec, err
		}
	}
	f, err := s.store.Open(sha)
	if err != nil {
		return nil, rec, err
	}
	return f, rec, nil
}

// fetchAny fetches a blob from whichever peer has it; concurrent callers share one fetch.
func (s *Service) fetchAny(ctx context.Context, rec state.Blob) error {
	s.mu.Lock()
	if c, ok := s.fetching[rec.SHA256]; ok {
		s.mu.Unlock()
		select {
		case <-c.done:
			return c.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c := &call{done: make(chan struct{})}
	s.fetching[rec.SHA256] = c
	s.mu.Unlock()
	c.err = s.fetchFromPeers(ctx, rec)
	s.mu.Lock()
	delete(s.fetching, rec.SHA256)
	s.mu.Unlock()
	close(c.done)
	return c.err
}

func (s *Service) fetchFromPeers(ctx context.Context, rec state.Blob) error {
	voters, err := s.cluster.Voters()
	if err != nil {
		return fault.New(fault.Unavailable, "read cluster members: %v", err)
	}
	rand.Shuffle(len(voters), func(i, j int) { voters[i], voters[j] = voters[j], voters[i] })
	var errs []error
	for _, v := range voters {
		if v.ID == s.cluster.ID() {
			continue
		}
		err := s.fetch(ctx, v.RaftAddr, rec.SHA256, rec.Size)
		if err == nil {
			return nil
		}
		if fault.CodeOf(err) == fault.NoSpace {
			return err
		}
		errs = append(errs, err)
	}
	return fault.New(fault.Unavailable, "no server could provide blob %s right now: %v", rec.SHA256, errors.Join(errs...))
}

// Run repairs until ctx ends (a background task of every server): every interval it fetches
// every committed blob this server lacks and removes files no record names, and abandoned
// temporary files, once they are older than the grace period. Deleting the records of
// unreferenced blobs is Collect's, on the leader. The re-encryption job runs beside it on its own
// ticker (see runRekey); Run returns once both have stopped.
func (s *Service) Run(ctx context.Context) {
	rekeyDone := make(chan struct{})
	go func() {
		defer close(rekeyDone)
		s.runRekey(ctx)
	}()
	defer func() { <-rekeyDone }()
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		s.repair(ctx)
		s.sweep()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Collect runs on the leader (a leader task: ctx ends when leadership is lost): every interval it
// proposes the deletion of blob records that nothing references and that are older than the
// grace period. Every server then removes the bytes as it applies the deletion.
func (s *Service) Collect(ctx context.Context) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		s.collect(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) each(fn func(state.Blob) bool) {
	after := ""
	for {
		var page []state.Blob
		var next string
		_ = s.state.View(func(tx *state.Tx) error {
			var err error
			page, next, err = tx.Blobs().List(after, 500)
			return err
		})
		for _, b := range page {
			if !fn(b) {
				return
			}
		}
		if next == "" {
			return
		}
		after = next
	}
}

func (s *Service) repair(ctx context.Context) {
	s.each(func(b state.Blob) bool {
		if ctx.Err() != nil {
			return false
		}
		if !s.store.Has(b.SHA256) {
			if err := s.fetchAny(ctx, b); err != nil {
				s.log.Warn("blob repair: fetch failed; will retry", "sha256", b.SHA256, "error", err)
			} else {
				s.log.Info("blob repaired", "sha256", b.SHA256, "size", b.Size)
			}
		}
		return true
	})
}

// sweep removes this server's temporary files past the grace period and files no record names
// (an upload that never committed).
func (s *Service) sweep() {
	now := time.Now()
	s.store.SweepTmp(s.cfg.Grace)
	locals, err := s.store.List()
	if err != nil {
		s.log.Warn("blob sweep: list", "error", err)
	}
	for _, l := range locals {
		if now.Sub(l.ModTime) < s.cfg.Grace {
			continue
		}
		if _, err := s.record(l.SHA256); fault.CodeOf(err) == fault.NotFound {
			_ = s.store.Remove(l.SHA256)
			s.log.Info("blob sweep: removed unrecorded file", "sha256", l.SHA256)
		}
	}
}

// collect proposes the deletion of unreferenced blob records past the grace period.
func (s *Service) collect(ctx context.Context) {
	now := time.Now()
	var dead []string
	s.each(func(b state.Blob) bool {
		var referenced bool
		_ = s.state.View(func(tx *state.Tx) error { referenced = tx.Blobs().Referenced(b.SHA256); return nil })
		if !referenced && now.Sub(b.CreateTime) > s.cfg.Grace {
			dead = append(dead, b.SHA256)
		}
		return true
	})
	for _, sha := range dead {
		c, _ := command.New(command.TypeBlobDelete, "", now, command.BlobDelete{SHA256: sha})
		res, err := s.cluster.Apply(ctx, c)
		if err == nil && res.Err() == nil {
			s.log.Info("blob collected", "sha256", sha)
			_ = s.store.Remove(sha)
		}
	}
}

// String describes the store for logs.
func (s *Service) String() string { return fmt.Sprintf("blob store %s", s.cfg.Dir) }
