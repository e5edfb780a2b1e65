// Package cli is the slipway command line: `slipway <noun> <verb>`. Every command that talks to a
// cluster does so through the public Go client in pkg/api and nothing else.
// Only server_cmds.go links server code, for the commands that need it in this process
// (slipway server, slipway dev, slipway bench, slipway operator keyring kek create); the depguard
// rule cli-through-api in .golangci.yml holds every other file to that.
//
// Settings are resolved per invocation as flag > environment > default:
//
//	--addr    SLIPWAY_ADDR    api.DefaultAddress
//	--token   SLIPWAY_TOKEN   the session slipway login stored for the address (credentials.go)
//	--output  SLIPWAY_OUTPUT  table
//	--ca-file          SLIPWAY_CACERT            (the system's roots)
//	--client-cert      SLIPWAY_CLIENT_CERT       (none)
//	--client-key       SLIPWAY_CLIENT_KEY        (none)
//	--tls-skip-verify  SLIPWAY_TLS_SKIP_VERIFY   false
//
// An https:// server whose certificate cannot be verified is refused with one line naming the
// fix; --tls-skip-verify turns verification off and prints a warning on stderr every time. When
// any TLS setting is given, an address without a scheme means https://, and an http:// address
// to a host that is not loopback is a usage error (the token would travel in clear).
//
// Exit codes scripts may rely on: 0 success, 1 the command failed (API error, unreachable
// server, I/O), 2 the command line was wrong (unknown command or flag, missing argument, bad
// flag value), 3 a command following a deployment (deploy watch, deploy create --watch) lost
// every server for longer than --reconnect-for, 4 `iam simulate` answered denied, 130 interrupted. Errors are printed as one line on stderr, "Error: ...".
//
// Errors returned by any command's run hooks count as failures (exit 1) unless they wrap a
// usageError (exit 2) or implement ExitCode() int, which then picks the exit code; that is how a
// command such as `slipway server` can exit with its own code on bad configuration.
package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/pkg/suggest"
	"github.com/slipwayhq/slipway/pkg/tlsutil"
)

// Exit codes returned by Execute.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
	// ExitServersLost: a command that follows a deployment lost every server of the cluster
	// for longer than it was told to keep trying; the deployment itself goes on.
	ExitServersLost = 3
	ExitInterrupted = 130
)

// Environment variables read by the CLI.
const (
	EnvAddr   = "SLIPWAY_ADDR"
	EnvToken  = "SLIPWAY_TOKEN"
	EnvOutput = "SLIPWAY_OUTPUT"

	EnvCACert        = "SLIPWAY_CACERT"
	EnvClientCert    = "SLIPWAY_CLIENT_CERT"
	EnvClientKey     = "SLIPWAY_CLIENT_KEY"
	EnvTLSSkipVerify = "SLIPWAY_TLS_SKIP_VERIFY"
)

// Options are what NewRootCommand needs from its surroundings. Zero values mean the process's
// own: os.Stdout, os.Stderr and os.Getenv.
type Options struct {
	Stdout io.Writer
	Stderr io.Writer
	// Getenv looks up SLIPWAY_* variables; tests pass a map so they need not touch the process
	// environment.
	Getenv func(string) string
}

// Execute runs the slipway command line with args (without the program name) and returns the
// process exit code. ctx cancellation (Ctrl-C) aborts the running request.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return run(ctx, args, Options{Stdout: stdout, Stderr: stderr})
}

func run(ctx context.Context, args []string, opts Options) int {
	root, c := newRoot(opts)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	msg, code := c.describe(ctx, cmd, err)
	_, _ = fmt.Fprintf(c.stderr, "Error: %s\n", msg)
	return code
}

// NewRootCommand builds the full `slipway` command tree. Errors are returned from Execute on the
// command rather than printed; Execute (the package function) prints them and picks exit codes.
func NewRootCommand(opts Options) *cobra.Command {
	root, _ := newRoot(opts)
	return root
}

// cli holds the state shared by every command of one invocation: the writers and the values of
// the global flags.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	root           *cobra.Command

	addr, token, output string
	caFile, clientCert  string
	clientKey           string
	skipVerify          bool
	warnedSkipVerify    bool          // the --tls-skip-verify warning was printed in this invocation
	reconnectFor        time.Duration // a watch's --reconnect-for (0: the client's default)

	usedSession    string    // the address whose stored session (slipway login) the client uses
	sessionExpired time.Time // the stored session for the address expired then (zero: none did)
}

func newRoot(opts Options) (*cobra.Command, *cli) {
	c := &cli{stdout: opts.Stdout, stderr: opts.Stderr, getenv: opts.Getenv}
	if c.stdout == nil {
		c.stdout = os.Stdout
	}
	if c.stderr == nil {
		c.stderr = os.Stderr
	}
	if c.getenv == nil {
		c.getenv = os.Getenv
	}

	root := &cobra.Command{
		Use:   "slipway",
		Short: "Slipway: self-hosted deployments to fleets of hosts",
		Long: `Slipway deploys revisions (AppSpec bundles) to fleets of hosts from a replicated control plane.

This command runs a control-plane node (slipway server, slipway dev) and talks to a running
cluster (slipway <noun> <verb>). Point it at any server with --addr or SLIPWAY_ADDR and
authenticate with --token or SLIPWAY_TOKEN. For an https:// server, trust the cluster's CA with
--ca-file or SLIPWAY_CACERT (slipway tls makes it).

Exit codes: 0 success, 1 failure, 2 wrong command line, 3 every server lost while following a
deployment (deploy watch, deploy create --watch), 4 denied (iam simulate), 130 interrupted.`,
		Example: `  # Start a single-node cluster on this machine, then use it
  slipway dev
  export SLIPWAY_ADDR=http://127.0.0.1:7400 SLIPWAY_TOKEN=<secret printed by slipway dev>
  slipway app create web
  slipway app list --output json`,
		Args:          nounArgs,
		RunE:          showHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionString(),
	}
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	c.root = root

	pf := root.PersistentFlags()
	pf.StringVar(&c.addr, "addr", "", fmt.Sprintf("address of any Slipway server, or several separated by commas (env %s, default %s)", EnvAddr, api.DefaultAddress))
	pf.StringVar(&c.token, "token", "", fmt.Sprintf("API token secret (env %s)", EnvToken))
	pf.StringVar(&c.output, "output", "", fmt.Sprintf("output format: table or json (env %s, default table)", EnvOutput))
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(
		[]cobra.Completion{formatTable, formatJSON}, cobra.ShellCompDirectiveNoFileComp))
	pf.StringVar(&c.caFile, "ca-file", "", fmt.Sprintf("PEM file of the CA that signs the servers' certificates, for https:// addresses (env %s)", EnvCACert))
	pf.StringVar(&c.clientCert, "client-cert", "", fmt.Sprintf("client certificate (PEM) for servers that require one (env %s)", EnvClientCert))
	pf.StringVar(&c.clientKey, "client-key", "", fmt.Sprintf("key of --client-cert (PEM) (env %s)", EnvClientKey))
	pf.BoolVar(&c.skipVerify, "tls-skip-verify", false, fmt.Sprintf("DANGEROUS: accept any server certificate; the connection can be intercepted and the token stolen (env %s)", EnvTLSSkipVerify))

	root.AddCommand(
		c.newAppCommand(),
		c.newAppSpecCommand(),
		c.newRevisionCommand(),
		c.newHostCommand(),
		c.newDeployCommand(),
		c.newGroupCommand(),
		c.newConfigCommand(),
		c.newEventsCommand(),
		c.newACLCommand(),
		c.newTokenCommand(),
		c.newIAMCommand(),
		c.newAuditCommand(),
		c.newLoginCommand(),
		c.newLogoutCommand(),
		c.newWhoAmICommand(),
		c.newSTSCommand(),
		c.newKVCommand(),
		c.newSecretCommand(),
		c.newRepoCommand(),
		c.newPRCommand(),
		c.newGitCredentialCommand(),
		c.newOperatorCommand(),
		c.newStatusCommand(),
		c.newVersionCommand(),
		c.newBenchCommand(),
		c.newTLSCommand(),
		c.newBuildSpecCommand(),
		c.newBuildCommand(),
		c.newProjectCommand(),
		c.newPipelineCommand(),
		c.newApprovalCommand(),
	)
	addServerCommands(root)

	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	addCompletionExamples(root)
	markRuntimeErrors(root)
	return root, c
}

// setting resolves a global flag: the flag when given, else the environment, else def.
func (c *cli) setting(flag, env, def string) (value, source string) {
	if f := c.root.PersistentFlags().Lookup(flag); f != nil && f.Changed {
		return strings.TrimSpace(f.Value.String()), "--" + flag
	}
	if v := strings.TrimSpace(c.getenv(env)); v != "" {
		return v, env
	}
	return def, ""
}

// client returns an API client for the configured address and token.
func (c *cli) client() (*api.Client, error) {
	return c.clientWithRetry(0)
}

func (c *cli) clientWithRetry(retryFor time.Duration) (*api.Client, error) {
	addr, src := c.setting("addr", EnvAddr, api.DefaultAddress)
	token, _ := c.setting("token", EnvToken, "")
	tlsCfg, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	cl, err := api.NewClient(api.Config{Address: addr, Token: token, RetryFor: retryFor, TLS: tlsCfg, ReconnectFor: c.reconnectFor})
	if err == nil && token == "" {
		// Neither --token nor SLIPWAY_TOKEN: the session slipway login stored for this address.
		if stored := c.storedToken(cl.Address()); stored != "" {
			cl, err = api.NewClient(api.Config{Address: addr, Token: stored, RetryFor: retryFor, TLS: tlsCfg, ReconnectFor: c.reconnectFor})
		}
	}
	if err != nil {
		if src == "" {
			src = "--addr"
		}
		if errors.Is(err, api.ErrPlainHTTPWithTLS) {
			return nil, usagef("%s: %v (TLS settings given: %s; for a plain-HTTP development server on another machine, give none of them)", src, err, strings.Join(c.tlsSettings(), ", "))
		}
		return nil, usageErr(fmt.Errorf("%s: %w", src, err))
	}
	return cl, nil
}

// tlsSettings names the TLS flags or environment variables in effect.
func (c *cli) tlsSettings() []string {
	var set []string
	for _, s := range [][2]string{{"ca-file", EnvCACert}, {"client-cert", EnvClientCert}, {"client-key", EnvClientKey}, {"tls-skip-verify", EnvTLSSkipVerify}} {
		v, src := c.setting(s[0], s[1], "")
		if on, err := strconv.ParseBool(v); v != "" && (s[0] != "tls-skip-verify" || (err == nil && on)) {
			set = append(set, src)
		}
	}
	return set
}

// skipVerifyWarning is printed on stderr whenever --tls-skip-verify is in effect.
const skipVerifyWarning = `WARNING: TLS certificate verification is OFF (--tls-skip-verify or SLIPWAY_TLS_SKIP_VERIFY).
WARNING: anyone on the network path can intercept this connection, read and change what is sent,
WARNING: and steal your token. Give the cluster CA with --ca-file or SLIPWAY_CACERT instead.
`

// tlsConfig builds the client TLS configuration from --ca-file, --client-cert, --client-key and
// --tls-skip-verify (or their environment variables); nil when none is set. A file that cannot
// be used is a usage error naming the flag or variable it came from.
func (c *cli) tlsConfig() (*tls.Config, error) {
	caFile, caSrc := c.setting("ca-file", EnvCACert, "")
	certFile, certSrc := c.setting("client-cert", EnvClientCert, "")
	keyFile, keySrc := c.setting("client-key", EnvClientKey, "")
	skip, skipSrc := c.setting("tls-skip-verify", EnvTLSSkipVerify, "false")
	skipVerify, err := strconv.ParseBool(skip)
	if err != nil {
		return nil, usagef("invalid %s %q: want true or false", skipSrc, skip)
	}
	if caFile == "" && certFile == "" && keyFile == "" && !skipVerify {
		return nil, nil
	}
	if (certFile == "") != (keyFile == "") {
		given, missing := certSrc, "--client-key or "+EnvClientKey
		if certFile == "" {
			given, missing = keySrc, "--client-cert or "+EnvClientCert
		}
		return nil, usagef("%s is set but %s is not: a client certificate needs both", given, missing)
	}
	if skipVerify && !c.warnedSkipVerify {
		c.warnedSkipVerify = true
		_, _ = fmt.Fprint(c.stderr, skipVerifyWarning)
	}
	opts := tlsutil.ClientOptions{SkipVerify: skipVerify, CertFile: certFile, KeyFile: keyFile}
	cfg, err := tlsutil.ClientConfig(opts)
	if err != nil {
		return nil, usagef("%s/%s: %w", certSrc, keySrc, err)
	}
	if caFile != "" {
		pool, err := tlsutil.CertPool(caFile)
		if err != nil {
			return nil, usagef("%s: cannot use %s as the CA: %w", caSrc, caFile, err)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// printer returns the output writer in the configured format.
func (c *cli) printer() (*printer, error) {
	format, src := c.setting("output", EnvOutput, formatTable)
	format = strings.ToLower(format)
	if format != formatTable && format != formatJSON {
		return nil, usageErr(fmt.Errorf("invalid %s %q: want table or json", src, format))
	}
	return &printer{w: c.stdout, format: format}, nil
}

// setup returns what almost every API command needs: a client and a printer. The printer is
// checked first so a bad --output is reported before any request is sent.
func (c *cli) setup() (*api.Client, *printer, error) {
	p, err := c.printer()
	if err != nil {
		return nil, nil, err
	}
	cl, err := c.client()
	if err != nil {
		return nil, nil, err
	}
	return cl, p, nil
}

// usageError marks an error as a wrong command line (exit code 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErr(err error) error {
	if err == nil {
		return nil
	}
	return &usageError{err: err}
}

func usagef(format string, a ...any) error { return usageErr(fmt.Errorf(format, a...)) }

// requireAppFlag adds the --app flag to cmd, which cannot run without it: an empty --app is a
// usage error before cmd's RunE is called.
func requireAppFlag(cmd *cobra.Command, app *string, help string) {
	cmd.Flags().StringVar(app, "app", "", help+" (required)")
	run := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if *app == "" {
			return usagef("--app is required")
		}
		return run(cmd, args)
	}
}

// runtimeError marks an error returned by a command's own code, as opposed to one cobra raised
// while parsing the command line. Anything that reaches Execute without this mark came from
// cobra (unknown flag, bad arguments, required flag missing) and is a usage error.
type runtimeError struct{ err error }

func (e *runtimeError) Error() string { return e.err.Error() }
func (e *runtimeError) Unwrap() error { return e.err }

// markRuntimeErrors wraps the run hooks of every command in the tree, including the ones other
// files add (server, dev, completion), so their errors are told apart from cobra's own.
func markRuntimeErrors(cmd *cobra.Command) {
	wrap := func(f func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
		if f == nil {
			return nil
		}
		return func(cmd *cobra.Command, args []string) error {
			if err := f(cmd, args); err != nil {
				return &runtimeError{err: err}
			}
			return nil
		}
	}
	cmd.PersistentPreRunE = wrap(cmd.PersistentPreRunE)
	cmd.PreRunE = wrap(cmd.PreRunE)
	cmd.RunE = wrap(cmd.RunE)
	cmd.PostRunE = wrap(cmd.PostRunE)
	cmd.PersistentPostRunE = wrap(cmd.PersistentPostRunE)
	for _, sub := range cmd.Commands() {
		markRuntimeErrors(sub)
	}
}

// describe turns err into the one line printed after "Error: " and the exit code.
func (c *cli) describe(ctx context.Context, cmd *cobra.Command, err error) (string, int) {
	if cmd == nil {
		cmd = c.root
	}
	if ctx.Err() != nil {
		return "interrupted", ExitInterrupted
	}
	// An error may choose its own exit code (e.g. bad server configuration, so that a service
	// manager does not restart-loop).
	var coded interface{ ExitCode() int }
	if errors.As(err, &coded) && coded.ExitCode() != 0 {
		return oneLine(err.Error()), coded.ExitCode()
	}
	var ue *usageError
	var re *runtimeError
	if errors.As(err, &ue) || !errors.As(err, &re) {
		return fmt.Sprintf("%s (see '%s --help')", oneLine(err.Error()), cmd.CommandPath()), ExitUsage
	}
	return oneLine(c.explain(err)), ExitFailure
}

// explain adds what the user can do about an API error to its message.
func (c *cli) explain(err error) string {
	var ae *api.Error
	if !errors.As(err, &ae) {
		return err.Error()
	}
	msg := err.Error()
	switch ae.Code {
	case api.CodeUnauthorized:
		if strings.Contains(ae.Message, "client certificate") {
			return msg // the server wants a certificate, not another token; its message says which flags
		}
		if c.usedSession != "" {
			return fmt.Sprintf("%s: the session stored for %s by `slipway login` was not accepted (it ended or was revoked): run `slipway login`", msg, c.usedSession)
		}
		if token, _ := c.setting("token", EnvToken, ""); token == "" && !c.sessionExpired.IsZero() {
			return fmt.Sprintf("your session expired at %s: run `slipway login`", c.sessionExpired.UTC().Format(time.RFC3339))
		}
		if token, _ := c.setting("token", EnvToken, ""); token == "" {
			return fmt.Sprintf("%s: no token given; set %s or pass --token (slipway acl bootstrap or slipway dev prints a management token)", msg, EnvToken)
		}
		return fmt.Sprintf("%s: the token was not accepted (unknown, revoked or expired); check %s or --token", msg, EnvToken)
	case api.CodeForbidden:
		if c.usedSession != "" || strings.Contains(ae.Message, "MFA") || strings.Contains(ae.Message, "is locked") {
			return msg // a signed-in user: the server's message says what to do (sign in with MFA, wait, ask)
		}
		return fmt.Sprintf("%s: no policy of this token's principal allows it; ask an administrator (`slipway iam simulate` shows which statement decides)", msg)
	case api.CodeNoLeader, api.CodeUnavailable:
		return fmt.Sprintf("%s: the cluster has no leader or the server is not ready; check 'slipway operator raft list-peers' and the server logs", msg)
	case api.CodeTimeout:
		return fmt.Sprintf("%s: the change may or may not have been applied; check before retrying", msg)
	}
	return msg
}

// oneLine folds a multi-line message into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// nounArgs rejects an unknown verb under a noun (or an unknown noun under the root) as a usage
// error, suggesting close matches.
func nounArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := closest(args[0], cmd.SuggestionsFor(args[0])); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return usageErr(errors.New(msg))
}

// closest returns the candidate with the smallest edit distance to typed, or "".
func closest(typed string, candidates []string) string {
	best, _ := suggest.Closest(typed, candidates)
	return best
}

// showHelp is the run function of a noun without a verb.
func showHelp(cmd *cobra.Command, _ []string) error { return cmd.Help() }

// nounCommand returns a command that only groups verbs.
func nounCommand(use, short, example string) *cobra.Command {
	return &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    nounArgs,
		RunE:    showHelp,
	}
}

// exactArgs requires one positional argument per name, each non-empty, and reports a missing or
// extra one as a usage error that names the argument.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < len(names):
			return usagef("missing %s: %q takes %s", names[len(args)], cmd.CommandPath(), strings.Join(names, " "))
		case len(args) > len(names):
			if len(names) == 0 {
				return usagef("%q takes no arguments, got %q", cmd.CommandPath(), args[0])
			}
			return usagef("too many arguments: %q takes %s, got %q", cmd.CommandPath(), strings.Join(names, " "), strings.Join(args, " "))
		}
		for i, a := range args {
			if strings.TrimSpace(a) == "" {
				return usagef("%s must not be empty", names[i])
			}
		}
		return nil
	}
}

// addCompletionExamples gives cobra's generated help and completion commands an example, like
// every other command.
func addCompletionExamples(root *cobra.Command) {
	examples := map[string]string{
		"help":       "  slipway help app create",
		"completion": "  slipway completion bash > /etc/bash_completion.d/slipway",
		"bash":       "  source <(slipway completion bash)",
		"zsh":        "  slipway completion zsh > \"${fpath[1]}/_slipway\"",
		"fish":       "  slipway completion fish > ~/.config/fish/completions/slipway.fish",
		"powershell": "  slipway completion powershell | Out-String | Invoke-Expression",
	}
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		if ex, ok := examples[cmd.Name()]; ok && cmd.Example == "" {
			cmd.Example = ex
		}
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	for _, cmd := range root.Commands() {
		if cmd.Name() == "help" || cmd.Name() == "completion" {
			walk(cmd)
		}
	}
}
