package cli

import (
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

// newRepoHookCommand is `slipway repo hook create|list|delete|deliveries|redeliver`.
func (c *cli) newRepoHookCommand() *cobra.Command {
	cmd := nounCommand("hook", "Send a repository's events (pushes, branches, pull requests) to a URL, signed",
		`  slipway repo hook create --repo web --url https://ci.example.com/hook --secret "$SECRET" --events push,pull_request
  slipway repo hook list --repo web
  slipway repo hook deliveries --repo web HOOK_ID
  slipway repo hook redeliver --repo web DELIVERY_ID
  slipway repo hook delete --repo web HOOK_ID`)
	cmd.Long = `A hook POSTs each event of a repository it takes as JSON (docs/WEBHOOKS.md) to its URL,
signed: X-Slipway-Signature-256 is sha256= and the HMAC-SHA256 of the body under the hook's
secret, with X-Slipway-Delivery (the delivery's id), X-Slipway-Event (the event type) and
X-Slipway-Timestamp. Deliveries are queued in the cluster's replicated state and sent by the
leader; an answer other than 2xx is retried with exponential backoff for three hours, and
every attempt is listed by 'deliveries'. The secret is never shown again. Servers refuse to send
to loopback, private and link-local addresses unless webhooks.allow_private_destinations is
set (slipway dev sets it). Needs a management token.`
	cmd.AddCommand(c.newRepoHookCreateCommand(), c.newRepoHookListCommand(), c.newRepoHookDeleteCommand(),
		c.newRepoHookDeliveriesCommand(), c.newRepoHookRedeliverCommand())
	return cmd
}

func repoFlag(cmd *cobra.Command, repo *string) {
	cmd.Flags().StringVar(repo, "repo", "", "the repository (required)")
	_ = cmd.MarkFlagRequired("repo")
}

func (c *cli) newRepoHookCreateCommand() *cobra.Command {
	var repo, url, secret, events string
	cmd := &cobra.Command{
		Use:   "create --repo R --url URL --secret S [--events push,pull_request,...]",
		Short: "Add a webhook to a repository",
		Long: `Adds a webhook. --events takes push, create, delete (branches and tags), pull_request,
pull_request_comment, pull_request_approval, or * for every one; the default is push.`,
		Example:           `  slipway repo hook create --repo web --url https://ci.example.com/hook --secret "$SECRET" --events push,create`,
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			var ev []string
			for _, e := range strings.Split(events, ",") {
				if e = strings.TrimSpace(e); e != "" {
					ev = append(ev, e)
				}
			}
			h, err := cl.RepoHookCreate(cmd.Context(), repo, api.RepoHookRequest{URL: url, Secret: secret, Events: ev})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(h)
			}
			return p.Fields([]field{{"ID", h.ID}, {"Repository", h.Repository}, {"URL", h.URL}, {"Events", strings.Join(h.Events, ",")}})
		},
	}
	repoFlag(cmd, &repo)
	cmd.Flags().StringVar(&url, "url", "", "where to POST events (http or https; required)")
	cmd.Flags().StringVar(&secret, "secret", "", "the key of the HMAC-SHA256 signature (required; never shown again)")
	cmd.Flags().StringVar(&events, "events", "", "comma-separated event types, or * (default push)")
	_ = cmd.MarkFlagRequired("url")
	_ = cmd.MarkFlagRequired("secret")
	return cmd
}

func (c *cli) newRepoHookListCommand() *cobra.Command {
	var repo string
	cmd := &cobra.Command{
		Use:               "list --repo R",
		Short:             "List a repository's webhooks",
		Example:           "  slipway repo hook list --repo web",
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			l, err := cl.RepoHookList(cmd.Context(), repo)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(l)
			}
			var rows [][]string
			for _, h := range l.Hooks {
				rows = append(rows, []string{h.ID, h.URL, strings.Join(h.Events, ","), strconv.FormatUint(h.Dropped, 10)})
			}
			return p.Table([]string{"ID", "URL", "EVENTS", "DROPPED"}, rows)
		},
	}
	repoFlag(cmd, &repo)
	return cmd
}

func (c *cli) newRepoHookDeleteCommand() *cobra.Command {
	var repo string
	cmd := &cobra.Command{
		Use:               "delete --repo R HOOK",
		Short:             "Delete a webhook (its pending deliveries are not sent)",
		Example:           "  slipway repo hook delete --repo web 3f2a...",
		Args:              exactArgs("HOOK"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if err := cl.RepoHookDelete(cmd.Context(), repo, args[0]); err != nil {
				return err
			}
			return p.Linef("Deleted hook %s of %s", args[0], repo)
		},
	}
	repoFlag(cmd, &repo)
	return cmd
}

func (c *cli) newRepoHookDeliveriesCommand() *cobra.Command {
	var repo string
	cmd := &cobra.Command{
		Use:   "deliveries --repo R HOOK",
		Short: "List a webhook's recent deliveries and their attempts",
		Long: `Lists the hook's last 100 deliveries, newest first: the event, the state (pending,
delivered, or failed after three hours of retries), and the attempts (HTTP status, error,
duration). --output json shows every attempt.`,
		Example:           "  slipway repo hook deliveries --repo web 3f2a...",
		Args:              exactArgs("HOOK"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			l, err := cl.RepoHookDeliveries(cmd.Context(), repo, args[0])
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(l)
			}
			var rows [][]string
			for _, d := range l.Deliveries {
				last, status, next := "-", "-", "-"
				if n := len(d.Attempts); n > 0 {
					a := d.Attempts[n-1]
					last = a.Time.Local().Format(time.DateTime)
					status = strconv.Itoa(a.Status)
					if a.Error != "" {
						status += " " + a.Error
					}
				}
				if d.NextAttempt != nil {
					next = d.NextAttempt.Local().Format(time.DateTime)
				}
				rows = append(rows, []string{d.ID, d.Event, d.State, strconv.Itoa(len(d.Attempts)), last, status, next})
			}
			return p.Table([]string{"DELIVERY", "EVENT", "STATE", "ATTEMPTS", "LAST", "STATUS", "NEXT"}, rows)
		},
	}
	repoFlag(cmd, &repo)
	return cmd
}

func (c *cli) newRepoHookRedeliverCommand() *cobra.Command {
	var repo string
	cmd := &cobra.Command{
		Use:               "redeliver --repo R DELIVERY",
		Short:             "Send a delivery's body again, as a new delivery",
		Example:           "  slipway repo hook redeliver --repo web 00000000000000000042",
		Args:              exactArgs("DELIVERY"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			d, err := cl.RepoHookRedeliver(cmd.Context(), repo, args[0])
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(d)
			}
			return p.Linef("Queued delivery %s (a redelivery of %s)", d.ID, args[0])
		},
	}
	repoFlag(cmd, &repo)
	return cmd
}
