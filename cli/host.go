package cli

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newHostCommand() *cobra.Command {
	cmd := nounCommand("host", "Manage hosts running slipway-agent",
		`  slipway host token create --ttl 1h --tag env=prod --allow-tag 'role=*' --max-uses 10
  slipway host token list
  slipway host token revoke 6f1c2a9e-...
  slipway host list
  slipway host get web-1
  slipway host tag web-1 role=web --remove old
  slipway host delete web-1`)
	cmd.Long = `Hosts are machines running slipway-agent. An agent registers with a registration token
('slipway host token create') and from then on acts only as its own host.

A deleted host cannot register again with its old identity: give its agent a fresh one (delete
identity.json in the agent's data dir) and a new registration token.`
	token := nounCommand("token", "Manage registration tokens for agents", `  slipway host token create --ttl 24h --tag env=staging --allow-tag 'role=*'
  slipway host token list
  slipway host token get 6f1c2a9e-...
  slipway host token revoke 6f1c2a9e-...`)
	token.Long = `Registration tokens (join tokens) let agents register hosts, and nothing else. They expire
(24h unless --ttl says otherwise), may be limited to a number of new hosts (--max-uses), carry
tags every host registering with them gets, and name the tags an agent may add (--allow-tag).
The secret is shown once, when the token is created; list and get show everything else.`
	token.AddCommand(c.newHostTokenCreateCommand(), c.newHostTokenListCommand(), c.newHostTokenGetCommand(), c.newHostTokenRevokeCommand())
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
	var ttl string
	var tags, allow []string
	var maxUses int
	cmd := &cobra.Command{
		Use:   "create [--ttl DURATION|never] [--max-uses N] [--tag key=value ...] [--allow-tag PATTERN ...]",
		Short: "Create a registration token for agents",
		Long: `Create a registration token. An agent started with it registers its host and then uses its own
secret; the token only lets agents register.

--ttl is how long it works (default 24h). --ttl 0 or --ttl never makes a token that never
expires, which is rarely what you want: it prints a warning.
--max-uses N lets it register at most N new hosts (a host registering again uses none).
--tag key=value tags are given to every host registering with it, and win: an agent whose own
--tag contradicts one is refused. An agent may add other tags only where they match one of the
token's --allow-tag patterns, globs over "key=value" (role=*, zone=eu-?; '*' allows any tag);
none are allowed otherwise.`,
		Example: `  slipway host token create
  slipway host token create --ttl 1h --max-uses 1 --tag env=prod
  slipway host token create --tag env=dev --allow-tag 'role=*' --allow-tag 'zone=eu-*'
  slipway host token create --output json   # {"token": ..., "expires_at": ...}`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := parseTags(tags)
			if err != nil {
				return err
			}
			req := api.HostTokenCreateRequest{Tags: t, AllowTags: allow, MaxUses: maxUses}
			switch ttl {
			case "0", "0s", "never":
				req.TTL = api.HostTokenTTLNever
				_, _ = fmt.Fprintln(c.stderr, "Warning: this registration token never expires: anyone who obtains it can register hosts until it is revoked (slipway host token revoke). Prefer --ttl and --max-uses.")
			default:
				d, err := time.ParseDuration(ttl)
				if err != nil || d <= 0 {
					return usagef("invalid --ttl %q: give a duration such as 1h or 24h, or never", ttl)
				}
				req.TTL = d.String()
			}
			if maxUses < 0 {
				return usagef("invalid --max-uses %d: give 1 or more (0: no limit)", maxUses)
			}
			for _, a := range allow {
				if !strings.Contains(a, "=") && a != "*" {
					return usagef("invalid --allow-tag %q: give a pattern over key=value, such as 'role=*' (or '*' for any tag)", a)
				}
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			tok, err := cl.HostTokenCreate(cmd.Context(), req)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(tok)
			}
			if err := p.Fields(append([]field{{"Token", tok.Token}}, hostTokenFields(tok)...)); err != nil {
				return err
			}
			if tok.CAPin != "" { // a TLS cluster: agents verify it with the CA pin
				return p.Linef("CA pin: %s\n\nStart an agent with it:\n  slipway-agent run --server %s --registration-token %s --ca-pin %s\nThe token will not be shown again.", tok.CAPin, cl.Address(), tok.Token, tok.CAPin)
			}
			return p.Linef("\nStart an agent with it:\n  slipway-agent run --server %s --registration-token %s\nThe token will not be shown again.", cl.Address(), tok.Token)
		},
	}
	cmd.Flags().StringVar(&ttl, "ttl", "24h", "lifetime, e.g. 1h; 0 or never: it never expires (warned)")
	cmd.Flags().IntVar(&maxUses, "max-uses", 0, "most new hosts it may register (0: no limit)")
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "key=value tag given to hosts registering with it; wins over the agent's (repeatable)")
	cmd.Flags().StringArrayVar(&allow, "allow-tag", nil, "pattern over key=value of tags an agent may add, e.g. 'role=*' (repeatable)")
	return cmd
}

func hostTokenExpiry(t *api.HostToken) string {
	if t.ExpiresAt == nil {
		return "never"
	}
	return formatTime(*t.ExpiresAt)
}

func hostTokenUses(t *api.HostToken) string {
	if t.MaxUses == 0 {
		return fmt.Sprintf("%d (no limit)", t.Uses)
	}
	return fmt.Sprintf("%d/%d", t.Uses, t.MaxUses)
}

func hostTokenFields(t *api.HostToken) []field {
	return []field{{"Accessor", t.AccessorID}, {"Status", t.Status}, {"Tags", formatTags(t.Tags)},
		{"Allowed tags", strings.Join(t.AllowTags, ",")}, {"Uses", hostTokenUses(t)},
		{"Created", formatTime(t.CreateTime)}, {"Expires", hostTokenExpiry(t)}}
}

func (c *cli) newHostTokenListCommand() *cobra.Command {
	var consistent bool
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List registration tokens (never their secrets)",
		Example: `  slipway host token list
  slipway host token list --output json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			toks, err := allPages(cmd.Context(), func(next string) ([]api.HostToken, string, error) {
				l, err := cl.HostTokenList(cmd.Context(), &api.QueryOptions{Consistent: consistent, Next: next})
				if err != nil {
					return nil, "", err
				}
				return l.HostTokens, l.Next, nil
			})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(toks)
			}
			rows := make([][]string, 0, len(toks))
			for i := range toks {
				t := &toks[i]
				rows = append(rows, []string{t.AccessorID, t.Status, formatTags(t.Tags), strings.Join(t.AllowTags, ","),
					hostTokenUses(t), formatTime(t.CreateTime), hostTokenExpiry(t)})
			}
			return p.Table([]string{"ACCESSOR", "STATUS", "TAGS", "ALLOWED TAGS", "USES", "CREATED", "EXPIRES"}, rows)
		},
	}
	addConsistentFlag(cmd, &consistent)
	return cmd
}

func (c *cli) newHostTokenGetCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "get ACCESSOR",
		Short:   "Show one registration token (never its secret)",
		Example: `  slipway host token get 6f1c2a9e-0d3b-4c55-9e43-1f0c1b2a3d4e`,
		Args:    exactArgs("ACCESSOR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			t, err := cl.HostTokenGet(cmd.Context(), args[0], nil)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(t)
			}
			return p.Fields(hostTokenFields(t))
		},
	}
}

func (c *cli) newHostTokenRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ACCESSOR",
		Short: "Revoke a registration token: it registers no more hosts",
		Long: `Revoke a registration token at once, on every server: registrations presented with it are
refused from then on. Hosts it already registered keep working (delete them with
'slipway host delete').`,
		Example: `  slipway host token revoke 6f1c2a9e-0d3b-4c55-9e43-1f0c1b2a3d4e`,
		Args:    exactArgs("ACCESSOR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if err := cl.HostTokenRevoke(cmd.Context(), args[0]); err != nil {
				return err
			}
			if p.json() {
				return nil
			}
			return p.Linef("Revoked registration token %s", args[0])
		},
	}
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
	var tags []string
	var status string
	cmd := &cobra.Command{
		Use:     "list [--tag KEY=VALUE ...] [--status online|offline]",
		Aliases: []string{"ls"},
		Short:   "List hosts, optionally only those with given tags or status",
		Long: `List hosts by name. --tag KEY=VALUE (repeatable) keeps the hosts that have every tag given;
--status keeps the online or the offline ones. The server does the filtering.`,
		Example: `  slipway host list
  slipway host list --tag env=prod --tag role=web
  slipway host list --status offline --output json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := api.HostFilter{Status: status}
			switch status {
			case "", api.HostOnline, api.HostOffline:
			default:
				return usagef("invalid --status %q: want %s or %s", status, api.HostOnline, api.HostOffline)
			}
			var err error
			if f.Tags, err = parseTags(tags); err != nil {
				return err
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			l, err := cl.HostSearch(cmd.Context(), f, &api.QueryOptions{Consistent: consistent})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(l.Hosts)
			}
			return p.Table(hostHeaders, hostRows(l.Hosts))
		},
	}
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "only hosts with this tag, KEY=VALUE (repeatable: every one must match)")
	cmd.Flags().StringVar(&status, "status", "", "only hosts with this status: online or offline")
	_ = cmd.RegisterFlagCompletionFunc("status", cobra.FixedCompletions([]cobra.Completion{api.HostOnline, api.HostOffline}, cobra.ShellCompDirectiveNoFileComp))
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
				{"Tags", formatTags(h.Tags)}, {"Capabilities", strings.Join(h.Capabilities, ", ")},
				{"Last seen", formatTime(h.LastSeen)}, {"Registered", formatTime(h.RegisterTime)},
				{"Revisions", formatTags(h.Revisions)}})
		},
	}
	return cmd
}

func (c *cli) newHostDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Remove a host; its agent's secret stops working",
		Long: `Remove a host. Its agent's session is closed at once, on whichever server holds it, and its
secret stops working. The host's ID is remembered: the same agent identity cannot register
again. To bring the machine back, delete identity.json in the agent's data dir and start the
agent with a new registration token.`,
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
		Use:   "tag NAME [key=value ...] [--remove key ...]",
		Short: "Set or remove tags of a host",
		Long: `Set or remove tags of a host. Tags set or removed here are the operator's: the agent
registering again (on every restart) never changes them, so quarantined=yes stays.`,
		Example: `  slipway host tag web-1 role=web env=prod --remove canary
  slipway host tag web-1 quarantined=yes`,
		Args: cobra.MinimumNArgs(1),
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
