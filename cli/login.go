package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newLoginCommand() *cobra.Command {
	var (
		user, code, recovery string
		passwordStdin        bool
		ttl                  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "login [--user NAME] [--password-stdin] [--ttl DURATION] [--code CODE]",
		Short: "Sign in as a user and keep the session for later commands",
		Long: `Sign in with your user name and password, and the code of your authenticator app when you have
MFA enabled (asked for when the server needs it, or given with --code; --recovery-code uses one
of your one-time recovery codes instead).

The session token is kept in credentials.json under your configuration directory
($XDG_CONFIG_HOME/slipway, ~/.config/slipway on Linux), readable by you only, per server address.
Later commands use it when neither --token nor SLIPWAY_TOKEN is given, until it expires
(--ttl, default 12h, at most 168h) or you run 'slipway logout'.

The password is read from the terminal without echo, or, with --password-stdin, from the first
line of standard input (the MFA code, if needed and not given, from the next line).`,
		Example: `  slipway login --user alice
  slipway login --user alice --ttl 1h --code 123456
  printf '%s\n' "$PASSWORD" | slipway login --user ci --password-stdin`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ttl < 0 || ttl > api.MaxSessionTTL {
				return usagef("invalid --ttl %s: want a duration up to %s", ttl, api.MaxSessionTTL)
			}
			in := newPrompter(cmd.InOrStdin(), c.stderr)
			if !passwordStdin && !in.terminal() {
				return usagef("standard input is not a terminal to ask the password on: give --password-stdin and the password on standard input")
			}
			if user == "" {
				if !in.terminal() {
					return usagef("--user is required")
				}
				_, _ = fmt.Fprint(c.stderr, "User: ")
				u, err := in.line("user name")
				if err != nil {
					return err
				}
				user = u
			}
			password, err := in.secret("Password: ", "password")
			if err != nil {
				return err
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			req := api.LoginRequest{User: user, Password: password, Code: code, RecoveryCode: recovery}
			if ttl > 0 {
				req.TTL = ttl.String()
			}
			tok, err := cl.Login(cmd.Context(), req)
			if api.ErrorCode(err) == api.CodeMFARequired {
				if req.Code, err = in.secret("MFA code: ", "MFA code"); err != nil {
					return fmt.Errorf("user %s has MFA enabled: give the code of your authenticator app (--code, or --recovery-code): %w", user, err)
				}
				tok, err = cl.Login(cmd.Context(), req)
			}
			if err != nil {
				return err
			}
			s := storedSession{Address: cl.Address(), Secret: tok.SecretID, Accessor: tok.AccessorID, User: tok.User, MFA: tok.MFA}
			if tok.ExpirationTime != nil {
				s.Expiration = *tok.ExpirationTime
			}
			f, path, err := c.loadCredentials()
			if err != nil {
				return err
			}
			f.Sessions[s.Address] = s
			if err := saveCredentials(path, f); err != nil {
				return err
			}
			if p.json() {
				return p.JSON(struct {
					Address    string    `json:"address"`
					User       string    `json:"user"`
					Accessor   string    `json:"accessor_id"`
					MFA        bool      `json:"mfa"`
					Expiration time.Time `json:"expiration_time"`
					File       string    `json:"credentials_file"`
				}{s.Address, s.User, s.Accessor, s.MFA, s.Expiration, path})
			}
			mfa := ""
			if s.MFA {
				mfa = " with MFA"
			}
			return p.Linef("Signed in to %s as %s%s until %s (session %s, kept in %s).", s.Address, s.User, mfa, formatTime(s.Expiration), s.Accessor, path)
		},
	}
	f := cmd.Flags()
	f.StringVar(&user, "user", "", "user name (asked for on a terminal when not given)")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	f.DurationVar(&ttl, "ttl", 0, "session lifetime, e.g. 1h (default 12h, at most 168h)")
	f.StringVar(&code, "code", "", "the current code of your authenticator app (MFA)")
	f.StringVar(&recovery, "recovery-code", "", "one of your one-time MFA recovery codes, instead of --code")
	return cmd
}

func (c *cli) newLogoutCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "End the session slipway login stored for the server",
		Long: `End the session 'slipway login' stored for the server address: it is revoked on the server and
removed from the credentials file. When the server cannot be reached, it is removed from the file
anyway, and the command says so (the session then stays valid on the server until it expires).
Without a stored session, the session given with --token or SLIPWAY_TOKEN is ended.`,
		Example: `  slipway logout
  slipway logout --addr https://slipway.example.com:7400`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := c.printer()
			if err != nil {
				return err
			}
			probe, err := c.clientWithToken("")
			if err != nil {
				return err
			}
			addr := probe.Address()
			f, path, err := c.loadCredentials()
			if err != nil {
				return err
			}
			s, stored := f.Sessions[addr]
			if !stored {
				token, _ := c.setting("token", EnvToken, "")
				if token == "" {
					return fmt.Errorf("no session is stored for %s: nothing to log out of (slipway login signs in)", addr)
				}
				cl, err := c.clientWithToken(token)
				if err != nil {
					return err
				}
				if err := cl.Logout(cmd.Context()); err != nil {
					return err
				}
				return p.Linef("Logged out of %s: the session is revoked.", addr)
			}
			cl, err := c.clientWithToken(s.Secret)
			if err != nil {
				return err
			}
			serverErr := cl.Logout(cmd.Context())
			delete(f.Sessions, addr)
			if err := saveCredentials(path, f); err != nil {
				return err
			}
			var ae *api.Error
			switch {
			case serverErr == nil:
				return p.Linef("Logged out of %s as %s: the session is revoked and removed from %s.", addr, s.User, path)
			case errors.As(serverErr, &ae) && ae.Code == api.CodeUnauthorized:
				return p.Linef("Logged out of %s as %s: the session had already ended on the server; removed from %s.", addr, s.User, path)
			}
			return fmt.Errorf("the session of %s was removed from %s, but the server could not revoke it (%w): it stays valid there until %s, or revoke it with `slipway token revoke %s`",
				s.User, path, serverErr, formatTime(s.Expiration), s.Accessor)
		},
	}
}

func (c *cli) newWhoAmICommand() *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show who the token or session acts as",
		Example: `  slipway whoami
  slipway whoami --output json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			who, err := cl.WhoAmI(cmd.Context())
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(who)
			}
			fields := []field{{"Principal", who.Kind + " " + who.Name}, {"SRN", who.SRN}, {"Token type", who.TokenType},
				{"Accessor ID", who.AccessorID}, {"MFA", yesNo(who.MFA)}}
			if who.Source != "" {
				fields = append(fields, field{"Assumed by", who.Source})
			}
			if who.Expiration != nil {
				fields = append(fields, field{"Expires", formatTime(*who.Expiration)})
			}
			if len(who.Groups) > 0 {
				fields = append(fields, field{"Groups", fmt.Sprint(who.Groups)})
			}
			if len(who.Policies) > 0 {
				fields = append(fields, field{"Policies", fmt.Sprint(who.Policies)})
			}
			return p.Fields(fields)
		},
	}
}
