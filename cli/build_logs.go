package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/pkg/bundle"
)

// The verbs of `slipway build` that read what a build left: its log, artifacts and reports.

// remoteBuildFailed makes a followed build that did not succeed exit ExitFailure.
type remoteBuildFailed struct{ id, status string }

func (e *remoteBuildFailed) Error() string {
	return fmt.Sprintf("build %s %s: see slipway build get %s", e.id, e.status, e.id)
}
func (e *remoteBuildFailed) ExitCode() int { return ExitFailure }

// buildLost makes a follow that lost every server exit ExitServersLost.
type buildLost struct {
	id  string
	err error
}

func (e *buildLost) Error() string {
	return fmt.Sprintf("%v. The build goes on in the cluster; when a server is back: slipway build logs %s --follow", e.err, e.id)
}
func (e *buildLost) Unwrap() error { return e.err }
func (e *buildLost) ExitCode() int { return ExitServersLost }

func (c *cli) newBuildLogsCommand() *cobra.Command {
	var (
		follow bool
		after  uint64
	)
	cmd := &cobra.Command{
		Use:   "logs ID [--follow]",
		Short: "Print a build's log",
		Long: `Prints the build's log, each line with the phase that printed it. --after N starts after line N.

With --follow it prints the lines as the build writes them and each phase change, and exits when
the build ends: 0 when it SUCCEEDED, 1 otherwise. A follow that loses its server goes on from
another one where it was; after --reconnect-for without any it exits 3 (the build goes on). With
--output json each line (or message, when following) is one JSON object.`,
		Example: `  slipway build logs web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a
  slipway build logs web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a --follow
  slipway build logs web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a --after 200 --output json`,
		Args:              exactArgs("ID"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if follow {
				return c.followBuild(cmd.Context(), cl, p, args[0], after)
			}
			for {
				page, err := cl.BuildLogs(cmd.Context(), args[0], after, api.MaxBuildLogLimit)
				if err != nil {
					return err
				}
				for _, l := range page.Lines {
					if err := printLogLine(c, p, l); err != nil {
						return err
					}
				}
				if len(page.Lines) == 0 {
					if page.Truncated && !p.json() {
						_, _ = fmt.Fprintln(c.stderr, "(the log reached its limit of 64 MiB: later lines were dropped)")
					}
					return nil
				}
				after = page.Next
			}
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "print lines as they are written until the build ends; exit 1 unless it SUCCEEDED")
	cmd.Flags().Uint64Var(&after, "after", 0, "start after this line number")
	addReconnectFlag(cmd, &c.reconnectFor)
	return cmd
}

func printLogLine(c *cli, p *printer, l api.BuildLogLine) error {
	if p.json() {
		return jsonLine(c.stdout, l)
	}
	_, err := fmt.Fprintf(c.stdout, "%-16s | %s\n", l.Phase, l.Text)
	return err
}

// followBuild prints a build's log as it is written, and its phase changes, until it ends: nil
// when it SUCCEEDED, a remoteBuildFailed otherwise. With --output json each message is a JSON line.
func (c *cli) followBuild(ctx context.Context, cl *api.Client, p *printer, id string, after uint64) error {
	seen := map[string]bool{}
	var last *api.Build
	end := ""
	err := cl.BuildLogsFollow(ctx, id, after, func(m api.BuildLogMessage) error {
		if m.Build != nil {
			last = m.Build
		}
		end = m.End
		if p.json() {
			return jsonLine(c.stdout, m)
		}
		for _, l := range m.Lines {
			if err := printLogLine(c, p, l); err != nil {
				return err
			}
		}
		if m.Build != nil {
			for _, ph := range m.Build.Phases {
				key := ph.Name + "/" + ph.Status
				if seen[key] || ph.Name == "SUBMITTED" || ph.Name == "COMPLETED" {
					continue
				}
				seen[key] = true
				switch {
				case ph.Status == "" && ph.EndTime == nil:
					_, _ = fmt.Fprintf(c.stdout, "== %s\n", ph.Name)
				case ph.Status != "":
					msg := ""
					if ph.Message != "" {
						msg = ": " + ph.Message
					}
					_, _ = fmt.Fprintf(c.stdout, "== %s %s (%s)%s\n", ph.Name, ph.Status, (time.Duration(ph.DurationMS) * time.Millisecond).String(), msg)
				}
			}
		}
		return nil
	})
	switch {
	case ctx.Err() != nil:
		_, _ = fmt.Fprintf(c.stderr, "Stopped following. Build %s keeps running; follow it again with: slipway build logs %s --follow\n", id, id)
		return ctx.Err()
	case errors.Is(err, api.ErrServersLost):
		return &buildLost{id: id, err: err}
	case err != nil:
		return err
	}
	if end == "" && last != nil {
		end = last.Status
	}
	if !p.json() {
		_ = p.Linef("Build %s %s", id, end)
	}
	if end != api.BuildSucceeded {
		return &remoteBuildFailed{id: id, status: end}
	}
	return nil
}

// artifactName is the name an artifact is downloaded by: "primary" or its identifier.
func artifactName(a api.BuildArtifact) string {
	if a.Identifier == "" {
		return "primary"
	}
	return a.Identifier
}

// safeFileName is a name usable as one file in a directory.
var safeFileName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func (c *cli) newBuildArtifactsCommand() *cobra.Command {
	var (
		download string
		extract  bool
	)
	cmd := &cobra.Command{
		Use:   "artifacts ID [--download DIR [--extract]]",
		Short: "List a build's artifacts, or download them",
		Long: `Lists the artifacts the build kept: "primary" (the buildspec's artifacts) and each secondary
artifact by its identifier, with its size and blob SHA-256.

--download DIR writes each artifact's zip as DIR/NAME.zip; with --extract it unpacks each into
DIR/NAME instead (entries that would leave it are refused).`,
		Example: `  slipway build artifacts web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a
  slipway build artifacts web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a --download ./out
  slipway build artifacts web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a --download ./out --extract
  slipway build artifacts web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a --output json`,
		Args:              exactArgs("ID"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if extract && download == "" {
				return usagef("--extract needs --download DIR")
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			l, err := cl.BuildArtifacts(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if download != "" {
				for _, a := range l.Artifacts {
					path, err := downloadArtifact(cmd.Context(), cl, args[0], a, download, extract)
					if err != nil {
						return err
					}
					if !p.json() {
						if err := p.Linef("%s -> %s", artifactName(a), path); err != nil {
							return err
						}
					}
				}
			}
			if p.json() {
				return p.JSON(l.Artifacts)
			}
			if download != "" {
				return nil
			}
			rows := make([][]string, 0, len(l.Artifacts))
			for _, a := range l.Artifacts {
				rows = append(rows, []string{artifactName(a), cell(a.Name), strconv.FormatInt(a.Size, 10), a.Blob})
			}
			return p.Table([]string{"ARTIFACT", "NAME", "SIZE", "SHA256"}, rows)
		},
	}
	cmd.Flags().StringVar(&download, "download", "", "download each artifact's zip into this directory")
	cmd.Flags().BoolVar(&extract, "extract", false, "with --download, unpack each zip into DIR/NAME")
	return cmd
}

// downloadArtifact writes artifact a of build id into dir, as NAME.zip or unpacked into NAME,
// and answers the path written. The zip is written to a temporary file first, so a broken
// download leaves nothing.
func downloadArtifact(ctx context.Context, cl *api.Client, id string, a api.BuildArtifact, dir string, extract bool) (string, error) {
	name := artifactName(a)
	if !safeFileName.MatchString(name) {
		return "", fmt.Errorf("artifact %q has a name that is not a file name", name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, ".artifact-*.zip")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := cl.BuildArtifactDownload(ctx, id, name, tmp); err != nil {
		_ = tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if extract {
		dest := filepath.Join(dir, name)
		if err := bundle.UnpackFile(tmp.Name(), dest, bundle.Limits{}); err != nil {
			return "", fmt.Errorf("unpack artifact %s: %w", name, err)
		}
		return dest, nil
	}
	dest := filepath.Join(dir, name+".zip")
	return dest, os.Rename(tmp.Name(), dest)
}

func (c *cli) newBuildReportsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reports ID",
		Short: "Show a build's test reports and their cases",
		Long: `Shows each report group of the build (the buildspec's reports: JUnit XML or Cucumber JSON): its
status and counts by case status, then its cases, failures first (at most 500 a report).
--output json prints the reports with every field of their cases.`,
		Example: `  slipway build reports web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a
  slipway build reports web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a --output json`,
		Args:              exactArgs("ID"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			l, err := cl.BuildReports(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(l.Reports)
			}
			if len(l.Reports) == 0 {
				return p.Linef("Build %s has no reports", args[0])
			}
			for i, r := range l.Reports {
				if i > 0 {
					_ = p.Linef("")
				}
				counts := ""
				for _, k := range sortedCounts(r.Counts) {
					counts += fmt.Sprintf(" %s=%d", k, r.Counts[k])
				}
				trunc := ""
				if r.Truncated {
					trunc = " (cases truncated)"
				}
				if err := p.Linef("Report %s (%s): %s, %d cases:%s%s", r.Name, r.Format, r.Status, r.Total, counts, trunc); err != nil {
					return err
				}
				rows := make([][]string, 0, len(r.Cases))
				for _, tc := range r.Cases {
					name := tc.Name
					if tc.Prefix != "" {
						name = tc.Prefix + " " + name
					}
					rows = append(rows, []string{tc.Status, name, (time.Duration(tc.DurationNS)).String(), cell(messageFirstLine(tc.Message))})
				}
				if err := p.Table([]string{"STATUS", "CASE", "DURATION", "MESSAGE"}, rows); err != nil {
					return err
				}
			}
			return nil
		},
	}
	return cmd
}

func sortedCounts(m map[string]int) []string {
	s := make(map[string]string, len(m))
	for k := range m {
		s[k] = ""
	}
	return sortedKeys(s)
}

func messageFirstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
