package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/agent"
	agentconfig "github.com/slipwayhq/slipway/agent/config"
	"github.com/slipwayhq/slipway/internal/bench"
	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server"
	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/config"
	"github.com/slipwayhq/slipway/server/core/keyring"
	"github.com/slipwayhq/slipway/server/core/raftstore"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git/transport"
)

// This file is the only one of the CLI that links server code (the depguard rule cli-through-api
// in .golangci.yml holds the others to pkg/api): `slipway server` and `slipway dev` run a node in
// this process, `slipway operator keyring kek create` writes the file the server's keyring loads,
// `slipway bench` starts clusters in this process through internal/bench, and `slipway audit
// verify` checks the trail with the server's audit package (online, and offline over a state
// file with --state).

// ExitConfig is the exit code for an invalid configuration (sysexits' EX_CONFIG). Service units
// list it in RestartPreventExitStatus so a bad config does not restart-loop.
const ExitConfig = 78

type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }
func (e *configError) ExitCode() int { return ExitConfig }

// addServerCommands registers `slipway server` and `slipway dev`, which run a control-plane node
// in this process.
func addServerCommands(root *cobra.Command) {
	root.AddCommand(newServerCommand(), newDevCommand(), newGitHookCommand())
}

// hookFailed is a git hook's non-zero exit: the hook wrote its reasons for the user (git shows
// them as "remote: ...").
type hookFailed struct {
	name string
	code int
}

func (e *hookFailed) Error() string {
	return "the git " + e.name + " hook failed (its reasons are above)"
}
func (e *hookFailed) ExitCode() int { return e.code }

// newGitHookCommand is the hidden `slipway git-hook NAME` that the server's git hook scripts
// run inside a push (server/git/transport): git runs it, never a person.
func newGitHookCommand() *cobra.Command {
	return &cobra.Command{
		Use:   transport.HookCommand + " pre-receive|proc-receive",
		Short: "Run a git hook of a push served by Slipway (git runs it)",
		Long: "Runs one of the git hooks that the server writes into its hooks directory: receive-pack runs it\n" +
			"inside a push, with the server's hook socket and the push's token in its environment. It is not\n" +
			"for people, and fails outside a push.",
		Example: "  # the server's pre-receive hook script:\n  exec /usr/bin/slipway git-hook pre-receive",
		Hidden:  true,
		Args:    cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if code := transport.HookMain(args); code != 0 {
				return &hookFailed{name: args[0], code: code}
			}
			return nil
		},
	}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func newServerCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a control-plane server (a Raft member serving the HTTP API)",
		Long: `Run a control-plane server: a member of the Raft cluster that holds Slipway's state, serving
the HTTP API. Settings come from defaults, then --config FILE (YAML), then SLIPWAY_* environment
variables, then flags. An invalid configuration exits with code 78.

Three servers started with --bootstrap-expect 3 and each other's Raft addresses in --join form a
cluster with no other step. A server restarted on its data dir rejoins on its own.`,
		Example: `  # one server on this machine (the key-encryption key file is made once)
  slipway operator keyring kek create --out /etc/slipway/keyring.kek
  slipway server --data-dir /var/lib/slipway --keyring-kek-file /etc/slipway/keyring.kek

  # three servers forming a TLS cluster (run one on each host; certificates from slipway tls,
  # the same KEK file on each from slipway operator keyring kek create)
  slipway server --node-id s1 --data-dir /var/lib/slipway \
    --http-addr 0.0.0.0:7400 --raft-addr 0.0.0.0:7401 --advertise 10.0.0.1 \
    --tls-ca-file /etc/slipway/ca.pem --tls-ca-key-file /etc/slipway/ca-key.pem \
    --tls-cert-file /etc/slipway/s1.pem --tls-key-file /etc/slipway/s1-key.pem \
    --keyring-kek-file /etc/slipway/keyring.kek \
    --bootstrap-expect 3 --join 10.0.0.1:7401,10.0.0.2:7401,10.0.0.3:7401`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags(), os.Getenv)
			if err != nil {
				return &configError{err}
			}
			err = server.Run(cmd.Context(), cfg, newLogger(cmd.ErrOrStderr(), cfg.LogLevel))
			if errors.Is(err, raftstore.ErrDataDir) || errors.Is(err, config.ErrInvalid) {
				return &configError{err}
			}
			return err
		},
	}
	config.RegisterFlags(cmd.Flags())
	return cmd
}

const (
	devTokenFile = "dev-management-token"
	devKEKFile   = "keyring.kek"
)

// devKEK returns the dev cluster's key-encryption key file in its data folder, creating it on
// the first run. A real cluster keeps its KEK apart from its data (see `slipway operator keyring
// kek create`); dev keeps everything in one folder.
func devKEK(dir string) (string, error) {
	path := filepath.Join(dir, devKEKFile)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if _, err := keyring.CreateKEKFile(path); err != nil {
		return "", err
	}
	return path, nil
}

func newDevCommand() *cobra.Command {
	var dataDir, httpAddr, raftAddr, sshAddr string
	var agents int
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run Slipway in one process for trying it out (single-node cluster on loopback)",
		Long: `Run everything in one process: a single-node cluster listening on loopback, with its data in
one folder (./.slipway-dev by default). It prints the address, a management token and the
export lines to use them from another terminal. Ctrl-C stops it cleanly, ending any hook its
embedded agents are running (that deployment fails as cancelled); running it again keeps the
data and the token.

The dev token is kept in the data folder (mode 0600) so that it can be printed again; a real
server never stores a secret, only its hash. So is the key-encryption key that blobs are
encrypted under (keyring.kek): a real server keeps it apart from its data.`,
		Example: `  slipway dev
  slipway dev --agents 3     # and three embedded agents, dev-1..dev-3, tagged env=dev
  slipway dev --data-dir /tmp/slipway --http-addr 127.0.0.1:8400 --raft-addr 127.0.0.1:8401`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			abs, err := filepath.Abs(dataDir)
			if err != nil {
				return err
			}
			token, tokenPath, err := devToken(abs)
			if err != nil {
				return err
			}
			cfg := config.Default()
			cfg.NodeID = "dev"
			cfg.Webhooks.AllowPrivateDestinations = true // dev's receivers are on this machine
			cfg.DataDir = filepath.Join(abs, "server")
			cfg.HTTPAddr, cfg.RaftAddr, cfg.SSHAddr = httpAddr, raftAddr, sshAddr
			cfg.BootstrapExpect = 1
			cfg.InitialManagementTokenFile = tokenPath
			if cfg.Keyring.KEKFile, err = devKEK(abs); err != nil {
				return err
			}
			cfg.LogLevel = "error"
			if err := cfg.Validate(); err != nil {
				return &configError{err}
			}
			s, err := server.Start(cfg, newLogger(cmd.ErrOrStderr(), cfg.LogLevel))
			if err != nil {
				return err
			}
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_ = s.Shutdown(ctx)
				fmt.Fprintln(cmd.OutOrStdout(), "Slipway dev stopped; data kept in", abs)
			}()
			if err := waitReady(cmd.Context(), s.HTTPAddr(), token); err != nil {
				return err
			}
			adminPassword, err := devAdmin(cmd.Context(), abs, s.HTTPAddr(), token)
			if err != nil {
				return err
			}
			names, stopAgents, err := startDevAgents(cmd.Context(), agents, abs, s.HTTPAddr(), token, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer stopAgents()
			sshLine := "  Git SSH: not served (--ssh-addr off, or its port is taken: see the log)\n"
			if port := devSSHPort(cmd.Context(), s, sshAddr); port > 0 {
				sshLine = fmt.Sprintf("  Git SSH: ssh://git@127.0.0.1:%d/NAME.git  (add a key: slipway iam key add admin ~/.ssh/id_ed25519.pub; pin the host key: slipway repo host-key)\n", port)
			}
			agentLine := ""
			if len(names) > 0 {
				agentLine = fmt.Sprintf("  Agents: %s (tag env=dev; their hooks run as you)\n", strings.Join(names, ", "))
			}
			fmt.Fprintf(cmd.OutOrStdout(), `Slipway dev is running.

  API:    %[1]s  (plain HTTP on loopback, for development only; see docs/SECURITY.md)
  Data:   %[2]s
  Token:  %[3]s (management)
  Console: %[1]s/ui/  (user admin, password %[5]s)
%[6]s%[4]s
Use it from another terminal:

  export SLIPWAY_ADDR=%[1]s
  export SLIPWAY_TOKEN=%[3]s
  slipway app create my-app

Press Ctrl-C to stop.
`, s.HTTPAddr(), abs, token, agentLine, adminPassword, sshLine)
			<-cmd.Context().Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", ".slipway-dev", "folder for all dev data (kept between runs)")
	cmd.Flags().IntVar(&agents, "agents", 0, "embedded agents to run (hosts dev-1..dev-N, tagged env=dev; they take deployments and builds)")
	cmd.Flags().StringVar(&httpAddr, "http-addr", fmt.Sprintf("127.0.0.1:%d", config.DefaultHTTPPort), "loopback host:port for the HTTP API")
	cmd.Flags().StringVar(&raftAddr, "raft-addr", fmt.Sprintf("127.0.0.1:%d", config.DefaultRaftPort), "loopback host:port for Raft")
	cmd.Flags().StringVar(&sshAddr, "ssh-addr", fmt.Sprintf("127.0.0.1:%d", config.DefaultSSHPort), "loopback host:port for git over SSH, or off")
	return cmd
}

// devSSHPort is the port dev serves git over SSH on: the server's git service opens it as it
// starts, so it is waited for a moment; 0 when it serves none.
func devSSHPort(ctx context.Context, s *server.Server, addr string) int {
	if addr == config.SSHOff {
		return 0
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if port := s.SSHPort(); port > 0 {
			return port
		}
		select {
		case <-ctx.Done():
			return 0
		case <-t.C:
		}
	}
}

// devToken returns the dev cluster's management secret, creating it on the first run.
func devToken(dir string) (secret, path string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("create %s: %w", dir, err)
	}
	path = filepath.Join(dir, devTokenFile)
	if s, err := config.ReadTokenFile(path); err == nil {
		return s, path, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", "", fmt.Errorf("%w: delete it to get a new token", err)
	}
	secret = auth.NewSecret()
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", "", fmt.Errorf("write dev token: %w", err)
	}
	return secret, path, nil
}

// devAdminFile holds the dev cluster's console password (mode 0600), as devTokenFile its token.
const devAdminFile = "admin-password"

// devAdmin makes the dev cluster's console user, admin with AdministratorAccess and a random
// password kept in the data folder, once; later runs print the kept password.
func devAdmin(ctx context.Context, dir, addr, token string) (string, error) {
	path := filepath.Join(dir, devAdminFile)
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	cl, err := api.NewClient(api.Config{Address: addr, Token: token})
	if err != nil {
		return "", err
	}
	pw := strings.TrimPrefix(auth.NewSecret(), "slw_")[:20]
	if _, err := cl.UserCreate(ctx, api.UserCreateRequest{Name: "admin", DisplayName: "Dev administrator", Password: pw}); err != nil && !api.IsConflict(err) {
		return "", fmt.Errorf("create the console user admin: %w", err)
	}
	if err := cl.UserSetPassword(ctx, "admin", api.PasswordRequest{Password: pw}); err != nil {
		return "", fmt.Errorf("set the console user's password: %w", err)
	}
	if err := cl.PolicyAttach(ctx, "AdministratorAccess", api.PolicyAttachRequest{User: "admin"}); err != nil {
		return "", fmt.Errorf("make admin an administrator: %w", err)
	}
	if err := os.WriteFile(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write the dev console password: %w", err)
	}
	return pw, nil
}

// waitReady waits until the server answers with the token accepted.
func waitReady(ctx context.Context, addr, token string) error {
	cl, err := api.NewClient(api.Config{Address: addr, Token: token, RetryFor: -1})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		_, err := cl.TokenSelf(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dev server did not become ready: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// startDevAgents runs n agents in this process, each with its own folder under dir/agents and a
// name dev-1..dev-n, tagged env=dev. An agent registers with a fresh registration token the first
// time; later runs reuse the identity kept in its folder. stop ends them and waits until they
// have ended, with the hooks and builds they were running (agent.RunEmbedded). They take builds
// (config.Builds), in Docker too when the engine answers.
func startDevAgents(ctx context.Context, n int, dir, addr, token string, logw io.Writer) (names []string, stop func(), err error) {
	if n <= 0 {
		return nil, func() {}, nil
	}
	if n > 50 {
		return nil, nil, usagef("--agents %d: at most 50 embedded agents", n)
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, err
	}
	cl, err := api.NewClient(api.Config{Address: addr, Token: token})
	if err != nil {
		return nil, nil, err
	}
	// A registration token only for agents not registered yet (no identity, or one saved but
	// whose registration never completed): later runs reuse their identity.
	var regToken string
	for i := 1; i <= n; i++ {
		if !agentRegistered(filepath.Join(dir, "agents", fmt.Sprintf("dev-%d", i), "identity.json")) {
			tok, err := cl.HostTokenCreate(ctx, api.HostTokenCreateRequest{TTL: "10m", Tags: map[string]string{"env": "dev"}})
			if err != nil {
				return nil, nil, fmt.Errorf("registration token for the dev agents: %w", err)
			}
			regToken = tok.Token
			break
		}
	}
	actx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	log := newLogger(logw, "error")
	devBuilds := true
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("dev-%d", i)
		names = append(names, name)
		cfg := agentconfig.Config{
			Servers: []string{addr}, RegistrationToken: regToken, Name: name,
			Tags: map[string]string{"env": "dev"}, DataDir: filepath.Join(dir, "agents", name),
			InstallRoot: filepath.Join(absDir, "agents", name, "root"),
			Builds:      &devBuilds, // the dev agents take builds (with Docker when it answers)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := agent.RunEmbedded(actx, cfg, log.With("agent", name)); err != nil && actx.Err() == nil {
				fmt.Fprintf(logw, "agent %s stopped: %v\n", name, err)
			}
		}()
	}
	// Wait until every agent is online, so the printed tour works at once.
	deadline := time.Now().Add(30 * time.Second)
	for _, name := range names {
		for {
			h, err := cl.HostGet(ctx, name, &api.QueryOptions{Consistent: true})
			if err == nil && h.Status == api.HostOnline {
				break
			}
			if time.Now().After(deadline) {
				cancel()
				wg.Wait()
				return nil, nil, fmt.Errorf("embedded agent %s did not come online", name)
			}
			select {
			case <-ctx.Done():
				cancel()
				wg.Wait()
				return nil, nil, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return names, func() { cancel(); wg.Wait() }, nil
}

// agentRegistered reports whether the embedded agent whose identity file is path has completed
// its registration: the file exists and is not marked pending (see agent.ensureIdentity).
func agentRegistered(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var id struct {
		Pending bool `json:"pending"`
	}
	return json.Unmarshal(b, &id) == nil && !id.Pending
}

// kekResult is the json output of kek create.
type kekResult struct {
	File        string `json:"file"`
	Fingerprint string `json:"fingerprint"`
}

// newKEKCreateCommand is `slipway operator keyring kek create` (the keyring noun in keyring.go
// adds it). It writes the file with server/core/keyring, the code every server loads it with, so
// that the KEK file format has one implementation.
func (c *cli) newKEKCreateCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "create --out FILE",
		Short: "Create a key-encryption key file for a new cluster",
		Long: `Create a key-encryption key (KEK): 32 random bytes, base64, written to FILE with mode 0600.
An existing FILE is never overwritten.

Every server of a cluster loads the same KEK file (slipway server --keyring-kek-file FILE, or
keyring.kek_file, or SLIPWAY_KEYRING_KEK_FILE). It wraps the cluster's data keys, which encrypt
every blob on disk; it never enters the Raft log, snapshots or the state. Copy it to each server
over a secure channel, keep it out of the data directory and out of backups of it, and keep a
copy offline: a cluster whose KEK is lost cannot read its blobs any more.`,
		Example: `  slipway operator keyring kek create --out /etc/slipway/keyring.kek
  slipway server --keyring-kek-file /etc/slipway/keyring.kek ...`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef("slipway operator keyring kek create: --out FILE is required: where to write the key-encryption key")
			}
			p, err := c.printer()
			if err != nil {
				return err
			}
			k, err := keyring.CreateKEKFile(out)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(kekResult{File: out, Fingerprint: k.Fingerprint()})
			}
			return p.Linef("Wrote key-encryption key %s (fingerprint %s, mode 0600).\nGive every server of the cluster this same file: --keyring-kek-file %s", out, k.Fingerprint(), out)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to create (refused if it exists)")
	return cmd
}

// newBenchCommand is `slipway bench`: its verbs start clusters in this process, so internal/bench
// (which links the server) builds them, printing and failing through this CLI.
func (c *cli) newBenchCommand() *cobra.Command {
	return bench.NewCommand(bench.CLI{
		Printer: func() (bench.Printer, error) {
			p, err := c.printer()
			if err != nil {
				return nil, err
			}
			return benchPrinter{p}, nil
		},
		Usagef: usagef,
		Noun:   nounCommand,
		NoArgs: exactArgs(),
	})
}

// benchPrinter is the CLI's printer as internal/bench asks for it.
type benchPrinter struct{ *printer }

func (p benchPrinter) JSONFormat() bool { return p.json() }

// auditVerifyStream verifies an audit export (`slipway audit export`: its header line, then one
// record a line) with audit.VerifyTo from the header's From to its To, and says how many records
// it checked. A failure names the record (*audit.Error).
func auditVerifyStream(r io.Reader) (auditVerified, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return auditVerified{}, err
		}
		return auditVerified{}, errors.New("the export is empty: no header line")
	}
	var h api.AuditExportHeader
	if err := strictJSON(sc.Bytes(), &h); err != nil {
		return auditVerified{}, fmt.Errorf("the export's first line is not its header: %w", err)
	}
	from, err := auditAnchor(h.Export.From)
	if err != nil {
		return auditVerified{}, err
	}
	to, err := auditAnchor(h.Export.To)
	if err != nil {
		return auditVerified{}, err
	}
	var n uint64
	records := func(yield func(audit.Record, error) bool) {
		line := 1
		for sc.Scan() {
			line++
			var rec audit.Record
			if err := strictJSON(sc.Bytes(), &rec); err != nil {
				yield(rec, fmt.Errorf("line %d of the export is not an audit record: %w", line, err))
				return
			}
			n++
			if !yield(rec, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(audit.Record{}, fmt.Errorf("read the export: %w", err))
		}
	}
	if err := audit.VerifyTo(from, to, records); err != nil {
		return auditVerified{}, err
	}
	return auditVerified{Verified: true, Records: n, From: h.Export.From, To: h.Export.To}, nil
}

// auditVerifyState verifies the audit trail of a state file offline: a snapshot saved with
// `slipway operator snapshot save`, or a copy of a stopped server's DATA/state/state.db.
func auditVerifyState(path string) (auditVerified, error) {
	var v auditVerified
	f, err := os.Open(path)
	if err != nil {
		return v, err
	}
	var magic [2]byte
	_, _ = io.ReadFull(f, magic[:])
	if magic == [2]byte{0x1f, 0x8b} { // a snapshot (tar.gz): read the state database inside it
		dir, err := os.MkdirTemp("", "slipway-audit-verify-")
		if err != nil {
			_ = f.Close()
			return v, err
		}
		defer func() { _ = os.RemoveAll(dir) }()
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			_ = f.Close()
			return v, err
		}
		path, err = raftstore.ExtractSnapshotState(f, dir)
		if err != nil {
			_ = f.Close()
			return v, err
		}
	}
	_ = f.Close()
	err = state.ViewFile(path, func(tx *state.Tx) error {
		anchor, head, err := tx.AuditChain()
		if err != nil {
			return err
		}
		if err := audit.VerifyTo(anchor, head, tx.AuditRecords(anchor.Seq+1)); err != nil {
			return err
		}
		v = auditVerified{Verified: true, Records: head.Seq - anchor.Seq,
			From: api.AuditAnchor{Seq: anchor.Seq, Hash: anchor.Hash.String()}, To: api.AuditAnchor{Seq: head.Seq, Hash: head.Hash.String()}}
		return nil
	})
	return v, err
}

func auditAnchor(a api.AuditAnchor) (audit.Anchor, error) {
	var d audit.Digest
	if err := d.UnmarshalText([]byte(a.Hash)); err != nil {
		return audit.Anchor{}, fmt.Errorf("the export's header names record %d with a bad hash: %w", a.Seq, err)
	}
	return audit.Anchor{Seq: a.Seq, Hash: d}, nil
}

// strictJSON decodes one JSON value, refusing unknown fields and trailing data.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}
