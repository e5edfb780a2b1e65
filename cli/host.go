package cli

import (
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newHostCommand() *cobra.Command {
	cmd := nounCommand("host", "Manage hosts running slipway-agent",
		`  slipway host token create --ttl 1h --tag env=prod
  slipway host list
  slipway host get web-1
  slipway host tag web-1 role=web --remove old
  slipway host delete web-1`)
	cmd.Long = `Hosts are machines running slipway-agent. An agent registers with a registration token
('slipway host token create') and from then on acts only as its own host.`
	token := nounCommand("token", "Create registration tokens for agents", `  slipway host token create --ttl 24h --tag env=staging`)
	token.AddCommand(c.newHostTokenCreateCommand())
	cmd.AddCommand(token, c.newHostListCommand(), c.newHostGetCommand(), c.newHostDeleteCommand(), c.newHostTagCommand())
	return cmd
}

// parseTags reads key=value pairs.
func parseTags(pairs []string) (map[string]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	tags := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, usagef("tag %q must be key=value", p)
		}
		tags[k] = v
	}
	return tags, nil
}

func formatTags(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+tags[k])
	}
	return strings.Join(parts, ",")
}

func (c *cli) newHostTokenCreateCommand() *cobra.Command {
	var ttl time.Duration
	var tags []string
	cmd := &cobra.Command{
		Use:   "create [--ttl DURATION] [--tag key=value ...]",
		Short: "Create a registration token for agents",
		Long: `Create a registration token. An agent started with it registers its host and then uses its own
secret; the token only lets agents register. Tags given here are given to every host that
registers with it.`,
		Example: `  slipway host token create --ttl 1h
  slipway host token create --tag env=prod --tag role=web --output json   # {"token": ...}`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := parseTags(tags)
			if err != nil {
				return err
			}
			if ttl < 0 {
				return usagef("invalid --ttl %s: must not be negative", ttl)
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			req := api.HostTokenCreateRequest{Tags: t}
			if ttl > 0 {
				req.TTL = ttl.String()
			}
			tok, err := cl.HostTokenCreate(cmd.Context(), req)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(tok)
			}
			exp := "never"
			if tok.ExpirationTime != nil {
				exp = formatTime(*tok.ExpirationTime)
			}
			if err := p.Fields([]field{{"Token", tok.Token}, {"Tags", formatTags(tok.Tags)}, {"Expires", exp}}); err != nil {
				return err
			}
			if tok.CAPin != "" { // a TLS cluster: agents verify it with the CA pin
				return p.Linef("CA pin: %s\n\nStart an agent with it:\n  slipway-agent run --server %s --registration-token %s --ca-pin %s\nThe token will not be shown again.", tok.CAPin, cl.Address(), tok.Token, tok.CAPin)
			}
			return p.Linef("\nStart an agent with it:\n  slipway-agent run --server %s --registration-token %s\nThe token will not be shown again.", cl.Address(), tok.Token)
		},
	}
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "lifetime, e.g. 1h; 0 means it does not expire")
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "key=value tag given to hosts registering with it (repeatable)")
	return cmd
}

func hostRows(hosts []api.Host) [][]string {
	rows := make([][]string, 0, len(hosts))
	for _, h := range hosts {
		rows = append(rows, []string{h.Name, h.Status, h.Address, h.AgentVersion, formatTags(h.Tags), formatTime(h.LastSeen), formatTags(h.Revisions)})
	}
	return rows
}

var hostHeaders = []string{"NAME", "STATUS", "ADDRESS", "AGENT", "TAGS", "LAST SEEN", "REVISIONS"}

func (c *cli) newHostListCommand() *cobra.Command {
	var consistent bool
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List hosts",
		Example: `  slipway host list`,
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			l, err := cl.HostList(cmd.Context(), &api.QueryOptions{Consistent: consistent})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(l.Hosts)
			}
			return p.Table(hostHeaders, hostRows(l.Hosts))
		},
	}
	addConsistentFlag(cmd, &consistent)
	return cmd
}

func (c *cli) newHostGetCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "get NAME",
		Short:   "Show one host",
		Example: `  slipway host get web-1`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			h, err := cl.HostGet(cmd.Context(), args[0], nil)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(h)
			}
			return p.Fields([]field{{"Name", h.Name}, {"ID", h.ID}, {"Status", h.Status}, {"Address", h.Address},
				{"Hostname", h.Hostname}, {"Platform", h.OS + "/" + h.Arch}, {"Agent", h.AgentVersion},
				{"Tags", formatTags(h.Tags)}, {"Last seen", formatTime(h.LastSeen)}, {"Registered", formatTime(h.RegisterTime)},
				{"Revisions", formatTags(h.Revisions)}})
		},
	}
	return cmd
}

func (c *cli) newHostDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "delete NAME",
		Short:   "Remove a host; its agent's secret stops working",
		Example: `  slipway host delete web-1`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if err := cl.HostDelete(cmd.Context(), args[0]); err != nil {
				return err
			}
			if p.json() {
				return nil
			}
			return p.Linef("Deleted host %q", args[0])
		},
	}
}

func (c *cli) newHostTagCommand() *cobra.Command {
	var remove []string
	cmd := &cobra.Command{
		Use:     "tag NAME [key=value ...] [--remove key ...]",
		Short:   "Set or remove tags of a host",
		Example: `  slipway host tag web-1 role=web env=prod --remove canary`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := parseTags(args[1:])
			if err != nil {
				return err
			}
			if len(set) == 0 && len(remove) == 0 {
				return usagef("give tags to set (key=value) or --remove KEY")
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			h, err := cl.HostTag(cmd.Context(), args[0], api.HostTagRequest{Set: set, Remove: remove})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(h)
			}
			return p.Linef("Host %q tags: %s", h.Name, formatTags(h.Tags))
		},
	}
	cmd.Flags().StringArrayVar(&remove, "remove", nil, "tag key to remove (repeatable)")
	return cmd
}
