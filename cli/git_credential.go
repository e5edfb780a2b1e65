package cli

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

// gitCredentialUser is the user name handed to git: the servers take any user name and the
// token secret as the password.
const gitCredentialUser = "slipway"

// maxCredentialInput bounds what git may send on standard input (a description is a handful of
// short lines).
const maxCredentialInput = 64 << 10

func (c *cli) newGitCredentialCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "git-credential get|store|erase",
		Short: "A git credential helper that hands git the token slipway uses",
		Long: `A git credential helper (git's credential protocol, gitcredentials(7)): configured with

  git config --global credential.helper '!slipway git-credential'

git runs it whenever a remote asks for a password. For 'get', when the remote's protocol and
host (with its port) are those of a server the CLI is configured for (--addr or SLIPWAY_ADDR,
every address of a comma-separated list, or an address 'slipway login' stored a session for),
it answers user name "slipway" and as password the token every other slipway command would
use: --token or SLIPWAY_TOKEN, else the session 'slipway login' stored. For any other host it
answers nothing, and git asks its next helper. 'store' and 'erase' do nothing: the CLI keeps
its own credentials ('slipway login', 'slipway logout').

The token is written to standard output for git only; messages go to standard error.`,
		Example: `  git config --global credential.helper '!slipway git-credential'
  git clone http://127.0.0.1:7400/git/web.git
  # or for one command only:
  git -c credential.helper='!slipway git-credential' clone http://127.0.0.1:7400/git/web.git`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: cobra.FixedCompletions([]cobra.Completion{"get", "store", "erase"}, cobra.ShellCompDirectiveNoFileComp),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("%q takes one operation, get, store or erase (git runs it: git config --global credential.helper '!slipway git-credential')", cmd.CommandPath())
			}
			// git's protocol: a helper ignores operations it does not know (newer git may add some).
			if args[0] != "get" {
				return nil
			}
			req, err := readCredentialRequest(cmd.InOrStdin())
			if err != nil {
				return err
			}
			token, ok, err := c.gitToken(req)
			if err != nil || !ok {
				return err
			}
			_, err = fmt.Fprintf(c.stdout, "username=%s\npassword=%s\n", gitCredentialUser, token)
			return err
		},
	}
}

// credentialRequest is what git describes on standard input: the attributes the helper uses.
// Others (path, username, capability[], wwwauth[], ...) are read and ignored.
type credentialRequest struct {
	Protocol string
	Host     string
}

// readCredentialRequest reads git's key=value lines up to a blank line or the end of input. A
// line without "=", a NUL byte or input over maxCredentialInput is malformed.
func readCredentialRequest(r io.Reader) (credentialRequest, error) {
	var req credentialRequest
	lr := &io.LimitedReader{R: r, N: maxCredentialInput + 1}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 4096), maxCredentialInput)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			break
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || key == "" || strings.ContainsRune(line, 0) {
			return req, fmt.Errorf("git credential input: malformed line %q: want key=value lines (git's credential protocol)", truncate(line, 40))
		}
		switch key {
		case "protocol":
			req.Protocol = strings.ToLower(value)
		case "host":
			req.Host = value
		}
	}
	if err := sc.Err(); err != nil {
		return req, fmt.Errorf("git credential input: %w", err)
	}
	if lr.N <= 0 {
		return req, fmt.Errorf("git credential input: over %d bytes", maxCredentialInput)
	}
	return req, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// gitToken resolves the password for the remote git described, as every other command
// resolves its token: --token or SLIPWAY_TOKEN, else the session slipway login stored for the
// (first) configured address, for a remote that is one of the configured addresses; else a
// session stored for exactly the remote's address. ok is false for a remote that is none of
// them (nothing is answered). A remote that is one of them but has no usable token is an
// error saying how to get one.
func (c *cli) gitToken(req credentialRequest) (token string, ok bool, err error) {
	if (req.Protocol != "http" && req.Protocol != "https") || req.Host == "" {
		return "", false, nil // ssh, a file, or no host: not Slipway's HTTP API
	}
	remote, err := originKey(req.Protocol, req.Host)
	if err != nil {
		return "", false, nil //nolint:nilerr // a host git sent that is no server of ours: no answer
	}
	addrs, err := c.configuredAddresses()
	if err != nil {
		return "", false, err
	}
	for _, a := range addrs {
		if k, err := originKey(a.Scheme, a.Host); err != nil || k != remote {
			continue
		}
		if t, _ := c.setting("token", EnvToken, ""); t != "" {
			return checkToken(t)
		}
		if t := c.storedToken(addrs[0].String()); t != "" {
			return checkToken(t)
		}
		if t := c.storedToken(a.String()); t != "" {
			return checkToken(t)
		}
		return "", false, c.noTokenError(remote)
	}
	f, _, err := c.loadCredentials()
	if err != nil {
		return "", false, err
	}
	matched := false
	for _, addr := range slices.Sorted(maps.Keys(f.Sessions)) {
		u, err := url.Parse(addr)
		if err != nil {
			continue
		}
		if k, err := originKey(u.Scheme, u.Host); err != nil || k != remote {
			continue
		}
		matched = true
		if t := c.storedToken(addr); t != "" {
			return checkToken(t)
		}
	}
	if matched {
		return "", false, c.noTokenError(remote)
	}
	return "", false, nil
}

// checkToken refuses a token git could not be handed on one line.
func checkToken(t string) (string, bool, error) {
	if strings.ContainsAny(t, "\n\r\x00") {
		return "", false, errors.New("the token contains a line break or NUL: git cannot be given it; check SLIPWAY_TOKEN or --token")
	}
	return t, true, nil
}

func (c *cli) noTokenError(remote string) error {
	if !c.sessionExpired.IsZero() {
		return fmt.Errorf("no token for %s: the session stored by `slipway login` expired at %s; run `slipway login`", remote, c.sessionExpired.UTC().Format(time.RFC3339))
	}
	return fmt.Errorf("no token for %s: run `slipway login`, or set %s", remote, EnvToken)
}

// configuredAddresses are the servers the CLI is configured for (--addr, SLIPWAY_ADDR or the
// default), each parsed as the API client parses it (without a scheme: https when any TLS
// setting is given, else http).
func (c *cli) configuredAddresses() ([]*url.URL, error) {
	raw, src := c.setting("addr", EnvAddr, api.DefaultAddress)
	if src == "" {
		src = "--addr"
	}
	var tlsCfg *tls.Config
	if len(c.tlsSettings()) > 0 {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12} // only the scheme's default is decided by it here
	}
	var out []*url.URL
	for _, a := range strings.Split(raw, ",") {
		if strings.TrimSpace(a) == "" {
			continue
		}
		cl, err := api.NewClient(api.Config{Address: a, TLS: tlsCfg})
		if err != nil {
			return nil, usageErr(fmt.Errorf("%s: %w", src, err))
		}
		u, err := url.Parse(cl.Address())
		if err != nil {
			return nil, usageErr(fmt.Errorf("%s: %w", src, err))
		}
		out = append(out, u)
	}
	return out, nil
}

// originKey is scheme://host:port with the scheme and host in lower case and the scheme's
// default port made explicit, so that git's host (which omits a default port) compares equal
// to the configured address.
func originKey(scheme, hostport string) (string, error) {
	scheme = strings.ToLower(scheme)
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = strings.Trim(hostport, "[]"), ""
	}
	if host == "" {
		return "", fmt.Errorf("no host in %q", hostport)
	}
	if port == "" {
		switch scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		default:
			return "", fmt.Errorf("unknown scheme %q", scheme)
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(host), port), nil
}
