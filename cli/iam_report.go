package cli

import (
	"regexp"
	"strconv"

	"github.com/spf13/cobra"
)

// addIAMReport adds `report active-users` to the iam command.
func (c *cli) addIAMReport(iam *cobra.Command) {
	report := nounCommand("report", "Reports counted from the audit trail",
		`  slipway iam report active-users --month 2026-11`)
	report.AddCommand(c.newActiveUsersCommand())
	iam.AddCommand(report)
}

var monthFlag = regexp.MustCompile(`^\d{4}-\d{2}$`)

func (c *cli) newActiveUsersCommand() *cobra.Command {
	var month string
	cmd := &cobra.Command{
		Use:   "active-users --month YYYY-MM",
		Short: "List each principal that made an authenticated request in a month",
		Long: `List each distinct principal (user, token or role; not hosts, not anonymous requests) with at
least one authenticated request in the month (UTC), as counted from the audit trail: writes,
denied requests, and the first request of each principal per day, so principals that only read
count too. Months already trimmed by the audit retention report nothing.`,
		Example: `  slipway iam report active-users --month 2026-11
  slipway iam report active-users --month 2026-11 --output json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !monthFlag.MatchString(month) {
				return usagef("invalid --month %q: write it as YYYY-MM, e.g. 2026-11", month)
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			rep, err := cl.ActiveUsers(cmd.Context(), month)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(rep)
			}
			rows := make([][]string, 0, len(rep.Users))
			for _, u := range rep.Users {
				rows = append(rows, []string{u.Principal.Kind, u.Principal.Name, u.Principal.ID, strconv.FormatUint(u.Requests, 10), formatTime(u.First), formatTime(u.Last)})
			}
			if err := p.Table([]string{"KIND", "NAME", "ID", "REQUESTS", "FIRST", "LAST"}, rows); err != nil {
				return err
			}
			return p.Linef("\n%d active users in %s", len(rep.Users), rep.Month)
		},
	}
	cmd.Flags().StringVar(&month, "month", "", "the month, YYYY-MM (required)")
	return cmd
}
