package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

// newIAMMFACmd is `slipway iam mfa enable|disable`; the iam noun adds it.
func (c *cli) newIAMMFACmd() *cobra.Command {
	cmd := nounCommand("mfa", "Turn a user's multi-factor authentication (TOTP) on or off",
		`  slipway iam mfa enable
  slipway iam mfa enable --user alice
  slipway iam mfa disable --user alice`)
	cmd.AddCommand(c.newMFAEnableCommand(), c.newMFADisableCommand())
	return cmd
}

// mfaUser is the user --user names, else the signed-in user themselves.
func (c *cli) mfaUser(ctx context.Context, cl *api.Client, user string) (string, error) {
	if user != "" {
		return user, nil
	}
	who, err := cl.WhoAmI(ctx)
	if err != nil {
		return "", err
	}
	if who.Kind != "user" {
		return "", usagef("--user is required: the token acts as %s %s, not as a user", who.Kind, who.Name)
	}
	return who.Name, nil
}

func (c *cli) newMFAEnableCommand() *cobra.Command {
	var user, code string
	cmd := &cobra.Command{
		Use:   "enable [--user NAME] [--code CODE]",
		Short: "Enrol an authenticator app and print the one-time recovery codes",
		Long: `Enrol a TOTP authenticator app for a user (yourself when signed in, without --user): print the
otpauth:// URL and a QR code to scan, then read a code from the app (asked for on the terminal,
else the next line of standard input) to confirm it. From then on, 'slipway login' asks for a code.

The recovery codes are printed once, at confirmation: each signs in once in place of a code.
With --output json, the enrolment and then the confirmation are printed as two JSON objects.`,
		Example: `  slipway iam mfa enable
  slipway iam mfa enable --user alice`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			name, err := c.mfaUser(ctx, cl, user)
			if err != nil {
				return err
			}
			enr, err := cl.MFAEnroll(ctx, name)
			if err != nil {
				return err
			}
			if p.json() {
				if err := p.JSON(struct {
					User string `json:"user"`
					*api.MFAEnrollment
				}{name, enr}); err != nil {
					return err
				}
			} else {
				if _, err := fmt.Fprintf(c.stdout, "Scan this QR code with your authenticator app, or add the URL or the secret by hand:\n\n%s\n%s\n\nSecret: %s\n\n",
					enr.QR, enr.OTPAuthURL, enr.Secret); err != nil {
					return fmt.Errorf("write output: %w", err)
				}
			}
			if code == "" {
				in := newPrompter(cmd.InOrStdin(), c.stderr)
				if in.terminal() {
					_, _ = fmt.Fprint(c.stderr, "Code from the app: ")
				}
				if code, err = in.line("MFA code"); err != nil {
					return fmt.Errorf("%w: the enrolment of %s waits for a code; run `slipway iam mfa enable` again to start over", err, name)
				}
			}
			conf, err := cl.MFAConfirm(ctx, name, strings.TrimSpace(code))
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(struct {
					User string `json:"user"`
					*api.MFAConfirmation
				}{name, conf})
			}
			_, err = fmt.Fprintf(c.stdout, "MFA is enabled for %s. Recovery codes (each works once, shown only now; keep them safe):\n\n    %s\n",
				name, strings.Join(conf.RecoveryCodes, "\n    "))
			return err
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "the user (default: yourself, when signed in)")
	cmd.Flags().StringVar(&code, "code", "", "the code the app shows (asked for when not given)")
	return cmd
}

func (c *cli) newMFADisableCommand() *cobra.Command {
	var user string
	cmd := &cobra.Command{
		Use:   "disable [--user NAME]",
		Short: "Remove a user's MFA device and recovery codes",
		Long: `Remove a user's MFA device (yourself when signed in, without --user). Turning your own MFA off
needs a session opened with an MFA code.`,
		Example: `  slipway iam mfa disable
  slipway iam mfa disable --user alice`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			name, err := c.mfaUser(cmd.Context(), cl, user)
			if err != nil {
				return err
			}
			if err := cl.MFADisable(cmd.Context(), name); err != nil {
				return err
			}
			return p.Linef("MFA is disabled for %s.", name)
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "the user (default: yourself, when signed in)")
	return cmd
}
