package raftstore

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"github.com/slipwayhq/slipway/internal/version"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// A backup ("operator snapshot") is a gzip'd tar of three files, in this order:
//
//	meta.json   snapshotMeta: Raft's snapshot metadata plus who made it
//	state.db    the state database
//	SHA256SUMS  sha256 of the two files above, in sha256sum's format
//
// Restore checks the sums before anything changes.

type snapshotMeta struct {
	Raft      raft.SnapshotMeta `json:"raft"`
	ClusterID string            `json:"cluster_id"`
	NodeID    string            `json:"node_id"`
	Version   string            `json:"version"`
	Created   time.Time         `json:"created"`
}

const maxMetaSize = 1 << 20

// SnapshotSave writes a backup of the current state to w. It runs on the node it is called on.
func (n *Node) SnapshotSave(_ context.Context, w io.Writer) error {
	f := n.raft.Snapshot()
	if err := f.Error(); err != nil {
		return fault.New(fault.Unavailable, "take snapshot: %v", err)
	}
	rm, rc, err := f.Open()
	if err != nil {
		return fault.New(fault.Internal, "open snapshot: %v", err)
	}
	defer func() { _ = rc.Close() }()
	meta, err := json.MarshalIndent(snapshotMeta{Raft: *rm, ClusterID: n.clusterID(), NodeID: n.cfg.NodeID, Version: version.Version, Created: time.Now().UTC()}, "", "  ")
	if err != nil {
		return err
	}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	sums := &strings.Builder{}
	if err := writeEntry(tw, "meta.json", int64(len(meta)), bytes.NewReader(meta), sums); err != nil {
		return err
	}
	if err := writeEntry(tw, "state.db", rm.Size, rc, sums); err != nil {
		return err
	}
	if err := writeEntry(tw, "SHA256SUMS", int64(sums.Len()), strings.NewReader(sums.String()), nil); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func writeEntry(tw *tar.Writer, name string, size int64, r io.Reader, sums *strings.Builder) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	h := sha256.New()
	if _, err := io.Copy(tw, io.TeeReader(io.LimitReader(r, size), h)); err != nil {
		return fmt.Errorf("snapshot: write %s: %w", name, err)
	}
	if sums != nil {
		fmt.Fprintf(sums, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), name)
	}
	return nil
}

// SnapshotRestore replaces the cluster's state with a backup read from r. It must run on the
// leader. The backup is verified completely before the state changes; the restored state keeps
// this cluster's identity.
func (n *Node) SnapshotRestore(ctx context.Context, r io.Reader) error {
	dir, err := os.MkdirTemp(n.cfg.DataDir, "restore-")
	if err != nil {
		return fault.New(fault.Internal, "restore: %v", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	meta, dbPath, err := readBackup(r, dir)
	if err != nil {
		return err
	}
	if err := state.AdoptSnapshotFile(dbPath, n.clusterID()); err != nil {
		return fault.New(fault.Invalid, "restore: the snapshot's state is not usable: %v", err)
	}
	f, err := os.Open(dbPath)
	if err != nil {
		return fault.New(fault.Internal, "restore: %v", err)
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return fault.New(fault.Internal, "restore: %v", err)
	}
	rm := meta.Raft
	rm.Size = st.Size()
	if err := n.raft.Restore(&rm, f, time.Minute); err != nil {
		if errors.Is(err, raft.ErrNotLeader) {
			return fault.New(fault.NoLeader, "leadership moved during restore: retry")
		}
		return fault.New(fault.Internal, "restore: %v", err)
	}
	// The restored state records the index it was taken at, which is below the log's; one
	// entry on top moves every node's applied index past the restore point.
	c, _ := command.New(command.TypeNoop, "", time.Now(), command.Noop{})
	if _, err := n.Apply(ctx, c); err != nil {
		return fmt.Errorf("restore applied, but the follow-up entry failed: %w", err)
	}
	n.cfg.Logger.Info("restored snapshot", "from_cluster", meta.ClusterID, "from_node", meta.NodeID, "taken", meta.Created)
	return nil
}

func readBackup(r io.Reader, dir string) (snapshotMeta, string, error) {
	var meta snapshotMeta
	bad := func(format string, args ...any) (snapshotMeta, string, error) {
		return meta, "", fault.New(fault.Invalid, "restore: not a slipway snapshot: "+format, args...)
	}
	gz, err := gzip.NewReader(r)
	if err != nil {
		return bad("%v", err)
	}
	tr := tar.NewReader(gz)
	got := map[string]string{}
	var metaRaw []byte
	dbPath := filepath.Join(dir, "state.db")
	var sums string
	for _, want := range []string{"meta.json", "state.db", "SHA256SUMS"} {
		hdr, err := tr.Next()
		if err != nil {
			return bad("reading %s: %v", want, err)
		}
		if hdr.Name != want || hdr.Typeflag != tar.TypeReg {
			return bad("expected %s, found %q", want, hdr.Name)
		}
		h := sha256.New()
		switch want {
		case "meta.json", "SHA256SUMS":
			if hdr.Size > maxMetaSize {
				return bad("%s is %d bytes", want, hdr.Size)
			}
			b, err := io.ReadAll(io.TeeReader(tr, h))
			if err != nil {
				return bad("reading %s: %v", want, err)
			}
			if want == "meta.json" {
				metaRaw = b
			} else {
				sums = string(b)
			}
		case "state.db":
			f, err := os.OpenFile(dbPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return meta, "", fault.New(fault.Internal, "restore: %v", err)
			}
			_, err = io.Copy(f, io.TeeReader(tr, h))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					return meta, "", fault.New(fault.TooLarge, "restore: snapshot is over the upload limit")
				}
				return meta, "", fault.New(fault.Invalid, "restore: reading state.db: %v (is the file complete?)", err)
			}
		}
		got[want] = hex.EncodeToString(h.Sum(nil))
	}
	for _, name := range []string{"meta.json", "state.db"} {
		if !strings.Contains(sums, got[name]+"  "+name+"\n") {
			return bad("checksum of %s does not match SHA256SUMS: the file is damaged", name)
		}
	}
	if err := json.Unmarshal(metaRaw, &meta); err != nil {
		return bad("meta.json: %v", err)
	}
	return meta, dbPath, nil
}

// RaftState returns "leader", "follower", "candidate" or "shutdown".
func (n *Node) RaftState() string { return strings.ToLower(n.raft.State().String()) }
