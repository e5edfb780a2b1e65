package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newAuditCommand() *cobra.Command {
	cmd := nounCommand("audit", "Read, export and verify the audit trail",
		`  slipway audit list --principal alice --since 2026-11-01T00:00:00Z
  slipway audit export > audit.jsonl
  slipway audit verify
  slipway audit verify --state backup.snap`)
	cmd.Long = `The audit trail records every authorized change, every denied request and the first request of
each principal per day: time, principal, action, resource, source address, request id, outcome and
error code, never a secret or a request body. Records are hash-chained, each carrying the hash of
the one before, so an edited, dropped or reordered record is found by slipway audit verify.`
	cmd.AddCommand(c.newAuditListCommand(), c.newAuditExportCommand(), c.newAuditVerifyCommand())
	return cmd
}

// parseTimeFlag reads an RFC 3339 time flag ("" is none).
func parseTimeFlag(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, usagef("invalid --%s %q: write a time in RFC 3339, e.g. 2026-11-01T00:00:00Z", name, v)
	}
	return t, nil
}

func (c *cli) newAuditListCommand() *cobra.Command {
	var (
		f            api.AuditFilter
		since, until string
		limit        int
	)
	cmd := &cobra.Command{
		Use:     "list [--principal P] [--action A] [--resource R] [--since T] [--until T] [--limit N]",
		Aliases: []string{"ls"},
		Short:   "List audit records, newest first",
		Long: `List audit records, newest first. --principal matches a principal's name or ID; --principal,
--action and --resource are exact, or end in * to match a prefix. --since and --until are RFC 3339
times (--since included, --until not). --limit caps how many records are shown (default 100; 0:
every matching record).`,
		Example: `  slipway audit list --principal alice
  slipway audit list --action 'codedeploy:*' --since 2026-11-01T00:00:00Z --output json
  slipway audit list --resource 'srn:slipway:codedeploy:app/shop*' --limit 0`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if f.Since, err = parseTimeFlag("since", since); err != nil {
				return err
			}
			if f.Until, err = parseTimeFlag("until", until); err != nil {
				return err
			}
			if limit < 0 {
				return usagef("invalid --limit %d: give a number of records, 0 for all", limit)
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			recs, err := listAudit(cmd.Context(), cl, f, limit)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(recs)
			}
			rows := make([][]string, 0, len(recs))
			for _, r := range recs {
				who := r.Principal.Kind + ":" + r.Principal.Name
				if r.Principal.Name == "" {
					who = r.Principal.Kind + ":" + r.Principal.ID
				}
				rows = append(rows, []string{strconv.FormatUint(r.Seq, 10), formatTime(r.Time), who, r.Action, r.Resource, r.Outcome, r.ErrorCode, r.Source, r.Detail})
			}
			return p.Table([]string{"SEQ", "TIME", "PRINCIPAL", "ACTION", "RESOURCE", "OUTCOME", "ERROR", "SOURCE", "DETAIL"}, rows)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Principal, "principal", "", "a principal's name or ID (a trailing * matches a prefix)")
	fl.StringVar(&f.Action, "action", "", "an action, e.g. codedeploy:CreateDeployment or 'codedeploy:*'")
	fl.StringVar(&f.Resource, "resource", "", "a resource name, e.g. srn:slipway:codedeploy:app/shop or 'srn:slipway:codedeploy:*'")
	fl.StringVar(&since, "since", "", "only records at or after this RFC 3339 time")
	fl.StringVar(&until, "until", "", "only records before this RFC 3339 time")
	fl.IntVar(&limit, "limit", 100, "most records to show; 0 shows every matching record")
	return cmd
}

// listAudit follows the pages of the records f selects, newest first, until limit records
// (0: all).
func listAudit(ctx context.Context, cl *api.Client, f api.AuditFilter, limit int) ([]api.AuditRecord, error) {
	out := []api.AuditRecord{}
	next := ""
	for {
		q := &api.QueryOptions{Next: next, Limit: 1000}
		if limit > 0 {
			q.Limit = min(1000, limit-len(out))
		}
		page, err := cl.AuditList(ctx, f, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Records...)
		if page.Next == "" || (limit > 0 && len(out) >= limit) {
			return out, nil
		}
		if page.Next == next {
			return nil, fmt.Errorf("audit list: the server returned page token %q twice", next)
		}
		next = page.Next
	}
}

func (c *cli) newAuditExportCommand() *cobra.Command {
	var since, until string
	cmd := &cobra.Command{
		Use:   "export [--since T] [--until T]",
		Short: "Write the audit trail as JSON lines, oldest first",
		Long: `Write the audit trail as JSON lines on standard output, oldest first. The first line names the
range ({"audit_export":{"from":...,"to":...}}): the records that follow are exactly those after
"from" up to "to", each one JSON record per line, so the file can be verified end to end and kept
outside the cluster (a kept head makes a later rewrite of the trail visible).`,
		Example: `  slipway audit export > audit.jsonl
  slipway audit export --since 2026-11-01T00:00:00Z --until 2026-12-01T00:00:00Z > november.jsonl`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := parseTimeFlag("since", since)
			if err != nil {
				return err
			}
			u, err := parseTimeFlag("until", until)
			if err != nil {
				return err
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			bw := bufio.NewWriterSize(c.stdout, 64<<10)
			if err := cl.AuditExport(cmd.Context(), s, u, bw); err != nil {
				return err
			}
			return bw.Flush()
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "start at the first record at or after this RFC 3339 time")
	cmd.Flags().StringVar(&until, "until", "", "end before the first record at or after this RFC 3339 time")
	return cmd
}

// auditVerified is what a successful verification covered: Records records after From, ending
// at To.
type auditVerified struct {
	Verified bool            `json:"verified"`
	Records  uint64          `json:"records"`
	From     api.AuditAnchor `json:"from"`
	To       api.AuditAnchor `json:"to"`
}

func (c *cli) newAuditVerifyCommand() *cobra.Command {
	var statePath string
	cmd := &cobra.Command{
		Use:   "verify [--state FILE]",
		Short: "Verify the audit trail's hash chain, end to end",
		Long: `Verify the audit trail: stream its export and check every record's hash, its sequence number
and its link to the record before, from the trail's anchor (the last record retention trimmed) to
its head. On success it prints how many records it checked and the anchor and head; otherwise it
names the first bad record (edited, missing, repeated, spliced, or cut off at the end) and exits 1.

With --state FILE it verifies a copy of a server's state offline, without a cluster: a snapshot
saved with slipway operator snapshot save, or a copy of a stopped server's DATA/state/state.db.`,
		Example: `  slipway audit verify
  slipway audit verify --output json
  slipway audit verify --state backup.snap`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := c.printer()
			if err != nil {
				return err
			}
			var v auditVerified
			if statePath != "" {
				v, err = auditVerifyState(statePath)
			} else {
				v, err = c.auditVerifyCluster(cmd.Context())
			}
			if err != nil {
				return fmt.Errorf("audit verify: %w", err)
			}
			if p.json() {
				return p.JSON(v)
			}
			return p.Linef("Verified %d audit records from record %d (hash %s) to record %d (hash %s).",
				v.Records, v.From.Seq, v.From.Hash, v.To.Seq, v.To.Hash)
		},
	}
	cmd.Flags().StringVar(&statePath, "state", "", "verify this state file (a snapshot, or a stopped server's state.db) instead of the cluster")
	return cmd
}

// auditVerifyCluster streams the cluster's export into the verifier.
func (c *cli) auditVerifyCluster(ctx context.Context) (auditVerified, error) {
	cl, err := c.client()
	if err != nil {
		return auditVerified{}, err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(cl.AuditExport(ctx, time.Time{}, time.Time{}, pw)) }()
	v, err := auditVerifyStream(pr)
	_ = pr.CloseWithError(io.ErrClosedPipe) // stop the export when verification stopped early
	return v, err
}
