package transport

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/slipwayhq/slipway/server/git/gitproto"
)

// HookCommand is the (hidden) command of the slipway binary the hook scripts run:
// `slipway git-hook NAME`.
const HookCommand = "git-hook"

// Hook names, as git runs them.
const (
	HookPreReceive  = "pre-receive"
	HookProcReceive = "proc-receive"
)

// writeHooks writes the hook scripts into dir: each execs `binary git-hook NAME`.
func writeHooks(dir, binary string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("git transport: hooks directory: %w", err)
	}
	for _, name := range []string{HookPreReceive, HookProcReceive} {
		script := "#!/bin/sh\n# Written by Slipway: the push calls back into the server.\nexec " + shellQuote(binary) + " " + HookCommand + " " + name + "\n"
		tmp := filepath.Join(dir, "."+name+".tmp")
		if err := os.WriteFile(tmp, []byte(script), 0o755); err != nil {
			return fmt.Errorf("git transport: write the %s hook: %w", name, err)
		}
		if err := os.Chmod(tmp, 0o755); err != nil { // whatever the umask
			return fmt.Errorf("git transport: write the %s hook: %w", name, err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("git transport: write the %s hook: %w", name, err)
		}
	}
	return nil
}

// shellQuote quotes s for sh: in single quotes, each ' written as '\”.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// RunHookIfInvoked runs the hook and exits when the process was started as one
// (`PROGRAM git-hook NAME`), and returns otherwise. A test binary whose pushes run this
// package's hooks (Config.HookBinary = os.Executable()) calls it first thing in TestMain.
func RunHookIfInvoked() {
	if len(os.Args) >= 2 && os.Args[1] == HookCommand {
		os.Exit(HookMain(os.Args[2:]))
	}
}

// HookMain runs the hook named by args[0] as git runs it (stdin, stdout and the environment
// of receive-pack, with EnvHookSocket and EnvHookToken) and returns its exit code. What the
// user should read goes to stderr, which git shows as "remote: ...".
func HookMain(args []string) int {
	if len(args) != 1 {
		fmt.Fprintf(os.Stderr, "slipway: usage: slipway %s pre-receive|proc-receive (git runs it)\n", HookCommand)
		return 2
	}
	h := hookClient{socket: os.Getenv(EnvHookSocket), token: os.Getenv(EnvHookToken)}
	if h.socket == "" || h.token == "" {
		fmt.Fprintf(os.Stderr, "slipway: the %s hook runs only inside a push served by Slipway (%s and %s are not set)\n", args[0], EnvHookSocket, EnvHookToken)
		return 1
	}
	var err error
	switch args[0] {
	case HookPreReceive:
		err = h.preReceive(os.Stdin, os.Getenv("GIT_QUARANTINE_PATH"))
	case HookProcReceive:
		err = h.procReceive(os.Stdin, os.Stdout)
	default:
		err = fmt.Errorf("no hook %q: Slipway's hooks are pre-receive and proc-receive", args[0])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "slipway: "+strings.TrimPrefix(err.Error(), "slipway: "))
		return 1
	}
	return 0
}

type hookClient struct{ socket, token string }

// preReceive stores the push's one quarantined pack (DESIGN.md finding 2); an empty or
// delete-only push has none (finding 3) and stores nothing.
func (h hookClient) preReceive(stdin io.Reader, quarantine string) error {
	_, _ = io.Copy(io.Discard, stdin) // the commands: the server has them from the request
	if quarantine == "" {
		return nil
	}
	packs, err := filepath.Glob(filepath.Join(quarantine, "pack", "*.pack"))
	if err != nil {
		return err
	}
	switch len(packs) {
	case 0:
		return nil
	case 1:
	default:
		return fmt.Errorf("slipway: the push left %d packs in quarantine, where git leaves one; push again", len(packs))
	}
	_, err = h.call(hookRequest{Op: opStorePack, Pack: packs[0]})
	return err
}

// hookLimits are the proc-receive hook's bounds: the server checked the request's head
// against its own limits, and the hook only takes what receive-pack relays of it.
var hookLimits = gitproto.ReceiveLimits{MaxCommands: 1 << 20, MaxShallow: 1 << 20, MaxPushOptions: 1 << 16, MaxPushOptionLen: 1 << 16}

// procReceive hands receive-pack's ref updates to the server and answers each ref with the
// server's result. A failed callback rejects every ref with its message.
func (h hookClient) procReceive(stdin io.Reader, stdout io.Writer) error {
	p, err := gitproto.ReadProcReceive(stdin, stdout, hookLimits)
	if err != nil {
		return fmt.Errorf("slipway: proc-receive: %w", err)
	}
	ans, err := h.call(hookRequest{Op: opPush, Commands: p.Commands, Atomic: p.Atomic(), PushOptions: p.PushOptions})
	for _, m := range ans.Messages {
		fmt.Fprintln(os.Stderr, "slipway: "+m)
	}
	results := ans.Results
	if err != nil {
		results = make([]gitproto.Result, len(p.Commands))
		for i, c := range p.Commands {
			results[i] = gitproto.Result{Ref: c.Ref, Reason: strings.TrimPrefix(err.Error(), "slipway: ")}
		}
	}
	if rerr := p.Respond(stdout, results); rerr != nil {
		return fmt.Errorf("slipway: proc-receive: %w", rerr)
	}
	return nil
}

// call makes one callback; an answer's Error is returned as the error.
func (h hookClient) call(req hookRequest) (hookAnswer, error) {
	req.Token = h.token
	conn, err := net.Dial("unix", h.socket)
	if err != nil {
		return hookAnswer{}, fmt.Errorf("slipway: cannot reach the server's hook socket: %w; push again", err)
	}
	defer func() { _ = conn.Close() }()
	data, err := json.Marshal(req)
	if err != nil {
		return hookAnswer{}, err
	}
	if _, err := conn.Write(append(data, '\n')); err != nil {
		return hookAnswer{}, fmt.Errorf("slipway: the server's hook socket: %w; push again", err)
	}
	line, err := bufio.NewReader(io.LimitReader(conn, maxHookRequest)).ReadBytes('\n')
	if err != nil {
		return hookAnswer{}, fmt.Errorf("slipway: the server did not answer the hook: %w; push again", err)
	}
	var ans hookAnswer
	if err := json.Unmarshal(line, &ans); err != nil {
		return hookAnswer{}, fmt.Errorf("slipway: unreadable answer from the server: %w", err)
	}
	if ans.Error != "" {
		return ans, fmt.Errorf("%s", ans.Error)
	}
	return ans, nil
}
