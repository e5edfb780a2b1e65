package cli

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newSTSCommand() *cobra.Command {
	cmd := nounCommand("sts", "Temporary credentials: assume a role",
		`  slipway sts assume-role deployer
  eval "$(slipway sts assume-role deployer --duration 30m --export)"`)
	cmd.AddCommand(c.newAssumeRoleCommand())
	return cmd
}

func (c *cli) newAssumeRoleCommand() *cobra.Command {
	var (
		duration          time.Duration
		sessionName, file string
		export            bool
	)
	cmd := &cobra.Command{
		Use:   "assume-role ROLE [--duration 1h] [--session-name NAME] [--policy FILE] [--export]",
		Short: "Get temporary credentials that act as a role",
		Long: `Get temporary credentials of a role: a token that acts with the role's policies only (narrowed
further by --policy, a session policy), until it expires (--duration, default 1h, at most the
role's max session). Your MFA, if your session has it, is carried over.

Two things must hold: the role's trust list names you (user/NAME, group/NAME of one of your
groups, token/ACCESSOR or role/NAME), and your own policies allow sts:AssumeRole on the role
(srn:slipway:iam:role/ROLE). A role that requires MFA needs a session opened with an MFA code.

--export prints shell lines that make later commands use the credentials.`,
		Example: `  slipway sts assume-role deployer
  eval "$(slipway sts assume-role deployer --duration 30m --export)"
  slipway sts assume-role deployer --policy read-shop.json --output json`,
		Args:              exactArgs("ROLE"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if duration < 0 {
				return usagef("invalid --duration %s: must not be negative", duration)
			}
			req := api.AssumeRoleRequest{SessionName: sessionName}
			if duration > 0 {
				req.Duration = duration.String()
			}
			if file != "" {
				b, err := os.ReadFile(file)
				if err != nil {
					return usagef("--policy: %v", err)
				}
				req.Policy = string(b)
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			cr, err := cl.AssumeRole(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			if export {
				_, err := fmt.Fprintf(c.stdout, "export %s=%s\nexport %s=%s\n# role %s until %s\n",
					EnvAddr, shellQuote(cl.Address()), EnvToken, shellQuote(cr.Secret), cr.Role, formatTime(cr.Expiration))
				return err
			}
			if p.json() {
				return p.JSON(cr)
			}
			if err := p.Fields([]field{{"Role", cr.Role}, {"Assumed by", cr.Source}, {"Secret", cr.Secret},
				{"Accessor ID", cr.Accessor}, {"Expires", formatTime(cr.Expiration)}, {"MFA", yesNo(cr.MFA)}}); err != nil {
				return err
			}
			return p.Linef("\nUse it with: export %s=%s (or run again with --export)", EnvToken, shellQuote(cr.Secret))
		},
	}
	f := cmd.Flags()
	f.DurationVar(&duration, "duration", 0, "how long the credentials last (default 1h, at most the role's max session)")
	f.StringVar(&sessionName, "session-name", "", "name of the role session, shown in the audit trail")
	f.StringVar(&file, "policy", "", "file of a session policy (JSON or YAML) that narrows the role's policies")
	f.BoolVar(&export, "export", false, "print export lines for eval in a shell")
	return cmd
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
