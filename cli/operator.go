package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newOperatorCommand() *cobra.Command {
	cmd := nounCommand("operator", "Cluster operations: Raft membership, snapshots, the encryption keyring",
		`  slipway operator raft list-peers
  slipway operator snapshot save backup.snap`)
	raft := nounCommand("raft", "Inspect and change the Raft membership",
		`  slipway operator raft list-peers
  slipway operator raft remove-peer node-3`)
	raft.AddCommand(c.newRaftListPeersCommand(), c.newRaftRemovePeerCommand())
	snap := nounCommand("snapshot", "Save and restore the cluster state",
		`  slipway operator snapshot save backup.snap
  slipway operator snapshot restore backup.snap`)
	snap.AddCommand(c.newSnapshotSaveCommand(), c.newSnapshotRestoreCommand())
	cmd.AddCommand(raft, snap, c.newKeyringCommand())
	return cmd
}

func (c *cli) newRaftListPeersCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list-peers",
		Short: "List the servers in the Raft configuration, and whether each is reachable",
		Long: `List the servers in the Raft configuration. A server stays in the configuration when it stops
(remove it with remove-peer if it will not come back), so each row also says whether it is
reachable: whether it answered the server you asked within the last 3 seconds (every server
probes the others each second over the cluster port), and how long ago it last answered
("never" when it has not since that server started).`,
		Example: `  slipway operator raft list-peers
  slipway operator raft list-peers --output json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			conf, err := cl.RaftConfiguration(cmd.Context())
			if err != nil {
				return err
			}
			if p.json() {
				if conf.Servers == nil {
					conf.Servers = []api.RaftServer{}
				}
				return p.JSON(conf)
			}
			rows := make([][]string, 0, len(conf.Servers))
			for _, s := range conf.Servers {
				state := "follower"
				if s.Leader {
					state = "leader"
				}
				rows = append(rows, []string{s.ID, s.RaftAddr, s.HTTPAddr, state, yesNo(s.Voter), yesNo(s.Reachable), contactAge(s.LastContactAgeMS)})
			}
			return p.Table([]string{"ID", "RAFT ADDRESS", "HTTP ADDRESS", "STATE", "VOTER", "REACHABLE", "LAST CONTACT"}, rows)
		},
	}
}

// contactAge shows how long ago a server last answered: "never", "40ms", "2.3s", "5m12s".
func contactAge(ms *int64) string {
	if ms == nil {
		return "never"
	}
	d := time.Duration(*ms) * time.Millisecond
	switch {
	case d < time.Second:
		return d.String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}

func (c *cli) newRaftRemovePeerCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "remove-peer ID",
		Short: "Remove a server from the Raft configuration",
		Long: `Remove a server from the Raft configuration, for instance one that died and will not come
back. Removing a live server makes it stop taking part in the cluster.`,
		Example:           `  slipway operator raft remove-peer node-3`,
		Args:              exactArgs("ID"),
		ValidArgsFunction: c.completePeers,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if err := cl.RaftRemovePeer(cmd.Context(), args[0]); err != nil {
				return err
			}
			return p.Linef("Removed peer %q", args[0])
		},
	}
}

// completePeers offers server IDs from the Raft configuration.
func (c *cli) completePeers(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return c.complete(cmd, func(ctx context.Context, cl *api.Client) ([]cobra.Completion, error) {
		conf, err := cl.RaftConfiguration(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]cobra.Completion, 0, len(conf.Servers))
		for _, s := range conf.Servers {
			out = append(out, cobra.CompletionWithDesc(s.ID, s.RaftAddr))
		}
		return out, nil
	})
}

// snapshotResult is the json output of snapshot save and restore.
type snapshotResult struct {
	File  string `json:"file"`
	Bytes int64  `json:"bytes"`
}

func (c *cli) newSnapshotSaveCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "save FILE",
		Short: "Save a point-in-time snapshot of the cluster state to FILE",
		Long: `Save a point-in-time snapshot of the cluster state to FILE.

The snapshot is written to FILE.tmp, synced to disk and then renamed, so FILE is either complete
or absent. An existing FILE is left alone unless --force is given. The snapshot holds every
resource, including token hashes: keep it as private as the cluster itself.`,
		Example: `  slipway operator snapshot save backup.snap
  slipway operator snapshot save /backups/slipway-$(date +%F).snap --force`,
		Args: exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			n, err := saveSnapshot(cmd.Context(), cl, args[0], force)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(snapshotResult{File: args[0], Bytes: n})
			}
			return p.Linef("Saved snapshot to %s (%d bytes)", args[0], n)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite FILE if it exists")
	return cmd
}

// saveSnapshot streams the snapshot into path.tmp, syncs it and moves it to path. Without force
// an existing path is refused, both before the download and, without a window, when the file is
// put in place.
func saveSnapshot(ctx context.Context, cl *api.Client, path string, force bool) (n int64, err error) {
	if !force {
		if _, err := os.Lstat(path); err == nil {
			return 0, fmt.Errorf("snapshot save: %s already exists (use --force to overwrite)", path)
		} else if !errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("snapshot save: %w", err)
		}
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, fmt.Errorf("snapshot save: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	cw := &countingWriter{w: f}
	if err := cl.SnapshotSave(ctx, cw); err != nil {
		return 0, err
	}
	if cw.n == 0 {
		return 0, errors.New("snapshot save: the server sent an empty snapshot")
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("snapshot save: sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("snapshot save: close %s: %w", tmp, err)
	}
	if err := place(tmp, path, force); err != nil {
		return 0, err
	}
	syncDir(filepath.Dir(path))
	return cw.n, nil
}

// place moves tmp to path. Without force it hard-links first, which fails if path appeared in
// the meantime, and falls back to a checked rename on file systems without hard links.
func place(tmp, path string, force bool) error {
	if !force {
		err := os.Link(tmp, path)
		if err == nil {
			_ = os.Remove(tmp)
			return nil
		}
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("snapshot save: %s already exists (use --force to overwrite)", path)
		}
		if _, serr := os.Lstat(path); serr == nil {
			return fmt.Errorf("snapshot save: %s already exists (use --force to overwrite)", path)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("snapshot save: %w", err)
	}
	return nil
}

// syncDir makes a rename in dir durable; file systems that cannot sync a directory are skipped.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *cli) newSnapshotRestoreCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "restore FILE",
		Short: "Replace the cluster state with a saved snapshot",
		Long: `Replace the whole cluster state with the snapshot in FILE, on a running cluster.

Everything written since the snapshot was saved is lost, including tokens created since: the
token this command uses must exist in the snapshot to keep working afterwards.`,
		Example: `  slipway operator snapshot restore backup.snap`,
		Args:    exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("snapshot restore: %w", err)
			}
			defer func() { _ = f.Close() }()
			st, err := f.Stat()
			if err != nil {
				return fmt.Errorf("snapshot restore: %w", err)
			}
			if !st.Mode().IsRegular() {
				return fmt.Errorf("snapshot restore: %s is not a regular file", args[0])
			}
			if st.Size() == 0 {
				return fmt.Errorf("snapshot restore: %s is empty", args[0])
			}
			if err := cl.SnapshotRestore(cmd.Context(), f); err != nil {
				return err
			}
			if p.json() {
				return p.JSON(snapshotResult{File: args[0], Bytes: st.Size()})
			}
			return p.Linef("Restored snapshot from %s (%d bytes)", args[0], st.Size())
		},
	}
}
