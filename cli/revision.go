package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/appspec"
	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/pkg/bundle"
	"github.com/slipwayhq/slipway/pkg/bytesize"
)

func (c *cli) newRevisionCommand() *cobra.Command {
	cmd := nounCommand("revision", "Push, list and download application revisions",
		`  slipway revision push --app web ./build
  slipway revision list --app web
  slipway revision download 5f0c...`)
	cmd.Long = `A revision is a bundle (a folder, or a .tar, .tar.gz/.tgz or .zip archive, holding an appspec.yml)
stored in the cluster's replicated blob store: once pushed, it is on a majority of servers and
any server serves it.`
	cmd.AddCommand(c.newRevisionPushCommand(), c.newRevisionListCommand(), c.newRevisionGetCommand(), c.newRevisionDownloadCommand())
	return cmd
}

// upload is a bundle ready to push.
type upload struct {
	file   *os.File
	size   int64
	sha256 string
	remove bool // a temporary bundle made from a folder
}

func (u *upload) close() {
	_ = u.file.Close()
	if u.remove {
		_ = os.Remove(u.file.Name())
	}
}

// prepareUpload validates the bundle at path exactly as `slipway appspec validate` does and
// returns the bytes to send: a deterministic tar.gz for a folder, the archive itself otherwise.
func (c *cli) prepareUpload(path string) (*upload, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	dir := path
	if !st.IsDir() {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		format, err := bundle.DetectReaderAt(f)
		_ = f.Close()
		if err != nil || format == bundle.Unknown {
			return nil, usagef("%s is not a folder or a .tar, .tar.gz/.tgz or .zip archive", path)
		}
		tmp, err := os.MkdirTemp("", "slipway-check-*")
		if err != nil {
			return nil, err
		}
		defer func() { _ = os.RemoveAll(tmp) }()
		if err := bundle.UnpackFile(path, tmp, bundle.Limits{}); err != nil {
			return nil, fmt.Errorf("%s cannot be unpacked safely: %w", path, err)
		}
		dir = tmp
	}
	_, diags, err := appspec.ValidateBundle(dir)
	if err != nil {
		return nil, err
	}
	diags.Sort()
	if diags.HasErrors() {
		_, _ = fmt.Fprint(c.stderr, diags.String())
		return nil, fmt.Errorf("the bundle's appspec has %d error(s) (listed above); nothing was uploaded", len(diags.Errors()))
	}
	if !st.IsDir() {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		h := sha256.New()
		n, err := io.Copy(h, f)
		if err != nil {
			_ = f.Close()
			return nil, err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			_ = f.Close()
			return nil, err
		}
		return &upload{file: f, size: n, sha256: hex.EncodeToString(h.Sum(nil))}, nil
	}
	f, err := os.CreateTemp("", "slipway-bundle-*.tar.gz")
	if err != nil {
		return nil, err
	}
	info, err := bundle.Create(f, dir)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	return &upload{file: f, size: info.Size, sha256: info.SHA256, remove: true}, nil
}

func (c *cli) newRevisionPushCommand() *cobra.Command {
	var app, description string
	cmd := &cobra.Command{
		Use:   "push --app APP PATH",
		Short: "Validate and upload a bundle as a new revision",
		Long: `Validate the bundle's appspec (the checks of 'slipway appspec validate') and upload it. A folder is
bundled as a deterministic tar.gz, so the same content always gives the same sha256; an archive is
uploaded as it is. Pushing content the app already has returns the existing revision.`,
		Example: `  slipway revision push --app web ./build
  slipway revision push --app web --description "v1.4.2" release.zip
  slipway revision push --app web ./build --output json   # {"id": ..., "sha256": ...}`,
		Args: exactArgs("PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			up, err := c.prepareUpload(args[0])
			if err != nil {
				return err
			}
			defer up.close()
			bar := newProgress(c.stderr, "upload", up.size, 0)
			rev, created, err := cl.RevisionPush(cmd.Context(), app, bar.reader(up.file), up.size, up.sha256, description)
			bar.end()
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(rev)
			}
			if !created {
				return p.Linef("Revision %s of %q already has this content (sha256 %s)", rev.ID, app, rev.SHA256)
			}
			return p.Linef("Pushed revision %s of %q (sha256 %s, %s)", rev.ID, app, rev.SHA256, bytesize.Format(rev.Size))
		},
	}
	requireAppFlag(cmd, &app, "application the revision belongs to")
	cmd.Flags().StringVar(&description, "description", "", "what this revision is")
	return cmd
}

func (c *cli) newRevisionListCommand() *cobra.Command {
	var app string
	var consistent bool
	cmd := &cobra.Command{
		Use:     "list --app APP",
		Aliases: []string{"ls"},
		Short:   "List an application's revisions, oldest first",
		Example: `  slipway revision list --app web`,
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			l, err := cl.RevisionList(cmd.Context(), app, &api.QueryOptions{Consistent: consistent})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(l.Revisions)
			}
			rows := make([][]string, 0, len(l.Revisions))
			for _, r := range l.Revisions {
				rows = append(rows, []string{r.ID, r.SHA256[:12], bytesize.Format(r.Size), r.Format, formatTime(r.CreateTime), r.Description})
			}
			return p.Table([]string{"ID", "SHA256", "SIZE", "FORMAT", "CREATED", "DESCRIPTION"}, rows)
		},
	}
	requireAppFlag(cmd, &app, "application")
	addConsistentFlag(cmd, &consistent)
	return cmd
}

// revisionRefHelp says how a revision may be named, for the commands that take one.
const revisionRefHelp = `A revision is named by its ID, a unique prefix of it (at least 4 characters), or latest, the
application's newest revision (with --app). An ambiguous prefix is refused with the candidates.`

func (c *cli) newRevisionGetCommand() *cobra.Command {
	var consistent bool
	var app string
	cmd := &cobra.Command{
		Use:   "get ID|PREFIX|latest [--app APP]",
		Short: "Show one revision",
		Long:  "Show one revision.\n\n" + revisionRefHelp,
		Example: `  slipway revision get 7d1c9b8e-...
  slipway revision get 7d1c
  slipway revision get latest --app web`,
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			r, err := cl.RevisionFind(cmd.Context(), app, args[0], &api.QueryOptions{Consistent: consistent})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(r)
			}
			return p.Fields([]field{{"ID", r.ID}, {"App", r.App}, {"SHA256", r.SHA256}, {"Size", strconv.FormatInt(r.Size, 10)},
				{"Format", r.Format}, {"Description", r.Description}, {"Created", formatTime(r.CreateTime)}})
		},
	}
	cmd.Flags().StringVar(&app, "app", "", "application the revision belongs to (needed for latest)")
	addConsistentFlag(cmd, &consistent)
	return cmd
}

func (c *cli) newRevisionDownloadCommand() *cobra.Command {
	var out, app string
	cmd := &cobra.Command{
		Use:   "download ID|PREFIX|latest [--app APP] [-o FILE]",
		Short: "Download a revision's bundle, resuming an interrupted download",
		Long: `Download a revision's bundle to FILE (default ID.FORMAT in the current folder; "-" for stdout).
The bytes go to FILE.part first; an interrupted download resumes from it, and the file is renamed
into place only after its sha256 matches the revision's.

` + revisionRefHelp,
		Example: `  slipway revision download 7d1c9b8e-...
  slipway revision download latest --app web -o web.tar.gz`,
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			rev, err := cl.RevisionFind(cmd.Context(), app, args[0], nil)
			if err != nil {
				return err
			}
			if out == "-" {
				d, err := cl.RevisionDownload(cmd.Context(), rev.ID, 0)
				if err != nil {
					return err
				}
				defer func() { _ = d.Body.Close() }()
				_, err = io.Copy(c.stdout, d.Body)
				return err
			}
			if out == "" {
				out = rev.ID + "." + rev.Format
			}
			if err := c.download(cmd, cl, rev, out); err != nil {
				return err
			}
			if p.json() {
				return p.JSON(map[string]any{"id": rev.ID, "sha256": rev.SHA256, "file": out, "size": rev.Size})
			}
			return p.Linef("Downloaded revision %s to %s (sha256 %s verified)", rev.ID, out, rev.SHA256)
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "file to write (\"-\" for stdout)")
	cmd.Flags().StringVar(&app, "app", "", "application the revision belongs to (needed for latest)")
	return cmd
}

func (c *cli) download(cmd *cobra.Command, cl *api.Client, rev *api.Revision, out string) error {
	part := out + ".part"
	f, err := os.OpenFile(part, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	offset, err := io.Copy(h, f) // hash what an earlier attempt already has
	if err != nil {
		return err
	}
	if offset > rev.Size {
		if err := f.Truncate(0); err != nil {
			return err
		}
		h.Reset()
		offset = 0
	}
	if offset < rev.Size {
		d, err := cl.RevisionDownload(cmd.Context(), rev.ID, offset)
		if err != nil {
			return err
		}
		defer func() { _ = d.Body.Close() }()
		if d.Offset != offset { // the server sent everything: start over
			if err := f.Truncate(0); err != nil {
				return err
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return err
			}
			h.Reset()
		}
		bar := newProgress(c.stderr, "download", rev.Size, d.Offset)
		_, err = io.Copy(io.MultiWriter(f, h, progressWriter(bar)), d.Body)
		bar.end()
		if err != nil {
			return fmt.Errorf("download interrupted (%w): run the same command again to resume", err)
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != rev.SHA256 {
		_ = os.Remove(part)
		return fmt.Errorf("downloaded content has sha256 %s, not %s; the partial file was removed, run the command again", got, rev.SHA256)
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(part, out); err != nil {
		return err
	}
	if dir, err := os.Open(filepath.Dir(out)); err == nil {
		_ = dir.Sync()
		_ = dir.Close()
	}
	return nil
}

func progressWriter(p *progress) io.Writer {
	if p == nil {
		return io.Discard
	}
	return p
}
