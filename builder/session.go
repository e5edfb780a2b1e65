package builder

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/slipwayhq/slipway/builder/executor"
)

// The shell protocol. The runner writes each command to the session's
// shell wrapped so that:
//
//   - the command runs in the session itself (eval of a single-quoted
//     assignment, so no process is forked for it), so cd, variables and
//     export carry to the next command, with its stdin from /dev/null so
//     that it cannot read the commands that follow;
//   - its exit status, and then the exported environment (export -p, which
//     the shell can read back), are printed between marker lines that
//     start with a random nonce no build output can guess;
//   - xtrace (set -x), if the build turned it on, is off while the
//     protocol's own lines run, so they do not clutter the log.
//
// A command that ends the shell (exit 3, or set -e and a failing command)
// fails with the shell's exit status; the runner then starts a new shell
// restored to the environment and directory after the last command that
// completed (shell variables that were not exported are lost then).

// event is one thing read from a session's output.
type event struct {
	kind eventKind
	text string // output line, or the block's content
	code int    // done: the command's exit status; exited: the shell's
	name string // value: the variable's name
}

type eventKind int

const (
	evOutput eventKind = iota
	evDone             // a command completed
	evEnv              // the environment after it
	evValue            // a value asked for (exported variable, artifact name)
	evExited           // the shell ended; no more events
)

// maxLine bounds one output line; a longer line is cut into pieces.
const maxLine = 64 << 10

// session is one shell of the build, speaking the protocol above.
type session struct {
	sess   executor.Session
	nonce  string
	events chan event
	stdin  io.WriteCloser
	dead   bool
	code   int // the shell's exit code once dead
}

func newNonce() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "__SLIPWAY_" + hex.EncodeToString(b)
}

// startSession starts a shell and the goroutines that read its output and
// wait for it. The events channel is closed after evExited.
func startSession(ctx context.Context, ws executor.Workspace, req executor.StartRequest) (*session, error) {
	sess, err := ws.Start(ctx, req)
	if err != nil {
		return nil, err
	}
	s := &session{sess: sess, nonce: newNonce(), events: make(chan event, 256), stdin: sess.Stdin()}
	outDone := make(chan struct{})
	go func() {
		defer close(outDone)
		s.read(sess.Output())
	}()
	go func() {
		code, _ := sess.Wait()
		// Whatever the shell left running would keep the output open:
		// the session ends with its shell.
		_ = sess.Stop()
		<-outDone
		s.events <- event{kind: evExited, code: code}
		close(s.events)
	}()
	return s, nil
}

// read turns the output into events. An empty line right before a marker
// is the protocol's own newline and is dropped.
func (s *session) read(r io.Reader) {
	br := bufio.NewReaderSize(r, maxLine)
	var block *event // a block being collected (env or value)
	var blockLines []string
	var partial strings.Builder
	pendingEmpty := false
	prefix := s.nonce + " "
	for {
		line, err := br.ReadSlice('\n')
		if len(line) == 0 && err != nil {
			break
		}
		full := err == nil
		text := string(bytes.TrimSuffix(line, []byte("\n")))
		if block != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				partial.WriteString(text) // a line longer than maxLine: one value line
				continue
			}
			if err != nil {
				break
			}
			text = partial.String() + text
			partial.Reset()
			if text == s.nonce+" end" {
				block.text = strings.Join(blockLines, "\n")
				s.events <- *block
				block, blockLines = nil, nil
				continue
			}
			blockLines = append(blockLines, text)
			continue
		}
		if full && strings.HasPrefix(text, prefix) {
			pendingEmpty = false
			f := strings.Fields(strings.TrimPrefix(text, prefix))
			switch {
			case len(f) == 2 && f[0] == "done":
				code, _ := strconv.Atoi(f[1])
				s.events <- event{kind: evDone, code: code}
			case len(f) == 1 && f[0] == "env":
				block = &event{kind: evEnv}
			case len(f) == 2 && f[0] == "value":
				block = &event{kind: evValue, name: f[1]}
			}
			continue
		}
		if pendingEmpty {
			s.events <- event{kind: evOutput, text: ""}
			pendingEmpty = false
		}
		if full && text == "" {
			pendingEmpty = true
			continue
		}
		s.events <- event{kind: evOutput, text: text}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			break
		}
	}
	if pendingEmpty {
		s.events <- event{kind: evOutput, text: ""}
	}
}

// quietOn and quietOff bracket the protocol's lines: xtrace off, and back
// on if the build had it on.
const (
	quietOn  = `{ __slipway_rc=$?; case $- in *x*) __slipway_x=1; set +x;; *) __slipway_x=;; esac; } 2>/dev/null`
	quietOff = `{ [ -n "$__slipway_x" ] && set -x; } 2>/dev/null`
)

// send writes text to the shell; an error means the shell is gone.
func (s *session) send(text string) error {
	_, err := io.WriteString(s.stdin, text)
	return err
}

// commandScript wraps one command in the protocol.
func (s *session) commandScript(cmd string) string {
	var b strings.Builder
	// A single-quoted assignment and eval: no process is forked for the
	// protocol, and whatever the command's quoting, it stays inside it.
	fmt.Fprintf(&b, "__slipway_cmd=%s\neval \"$__slipway_cmd\" </dev/null\n", shellQuote(cmd))
	b.WriteString(quietOn + "\n")
	fmt.Fprintf(&b, "printf '\\n%%s done %%d\\n%%s env\\n' '%s' \"$__slipway_rc\" '%s'; export -p; printf '\\n%%s end\\n' '%s'\n", s.nonce, s.nonce, s.nonce)
	b.WriteString(quietOff + "\n")
	return b.String()
}

// shellQuote quotes s for a POSIX shell: in single quotes, each single
// quote of s closing the quotes, escaped, and opening them again.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// variableValue is the assignment source of a variable's value.
func variableValue(name string) string { return `"${` + name + `}"` }

// expansion is the assignment source of text expanded as a here-document
// is: parameters, command substitution and arithmetic (an artifact name
// such as myname-$(date +%Y-%m-%d)).
func (s *session) expansion(text string) string {
	return fmt.Sprintf("$(cat <<%s_V\n%s\n%s_V\n)", s.nonce, text, s.nonce)
}

// valueScript prints a value as a value block; src is what is assigned
// (variableValue or expansion).
func (s *session) valueScript(name, src string) string {
	var b strings.Builder
	b.WriteString(quietOn + "\n")
	fmt.Fprintf(&b, "__slipway_v=%s\n", src)
	fmt.Fprintf(&b, "printf '\\n%%s value %%s\\n%%s\\n%%s end\\n' '%s' '%s' \"$__slipway_v\" '%s'\n", s.nonce, name, s.nonce)
	b.WriteString(quietOff + "\n")
	return b.String()
}

// commandResult is what became of one command.
type commandResult struct {
	code int
	// env is the export -p output after the command; "" when the command
	// ended the shell.
	env string
	// ended is set when the command ended the shell (exit, set -e).
	ended bool
}

// run sends one command and waits for its result, passing output lines to
// out. When the context ends first, the session is stopped and ctx.Err()
// returned.
func (s *session) run(ctx context.Context, cmd string, out func(string)) (commandResult, error) {
	if s.dead {
		return commandResult{code: s.code, ended: true}, nil
	}
	sendErr := make(chan error, 1)
	go func() { sendErr <- s.send(s.commandScript(cmd)) }()
	res := commandResult{code: -1}
	gotDone := false
	for {
		select {
		case <-ctx.Done():
			_ = s.sess.Stop()
			s.drain(out)
			return res, ctx.Err()
		case ev, ok := <-s.events:
			if !ok {
				s.dead = true
				return commandResult{code: s.code, ended: true}, nil
			}
			switch ev.kind {
			case evOutput:
				out(ev.text)
			case evDone:
				res.code, gotDone = ev.code, true
			case evEnv:
				res.env = ev.text
				if gotDone {
					if err := <-sendErr; err != nil {
						return res, fmt.Errorf("send the command to the shell: %w", err)
					}
					return res, nil
				}
			case evExited:
				s.dead, s.code = true, ev.code
				if gotDone && res.env != "" {
					return res, nil
				}
				code := ev.code
				if code < 0 { // killed by a signal
					code = 1
				}
				return commandResult{code: code, ended: true}, nil
			}
		}
	}
}

// value asks the shell for a value (see valueScript); ok is false when
// the shell is gone.
func (s *session) value(ctx context.Context, name, src string) (string, bool) {
	if s.dead {
		return "", false
	}
	if err := s.send(s.valueScript(name, src)); err != nil {
		return "", false
	}
	for {
		select {
		case <-ctx.Done():
			return "", false
		case ev, ok := <-s.events:
			if !ok {
				s.dead = true
				return "", false
			}
			switch ev.kind {
			case evValue:
				if ev.name == name {
					return ev.text, true
				}
			case evExited:
				s.dead, s.code = true, ev.code
				return "", false
			}
		}
	}
}

// close ends the shell: stdin closed, then every process of the session
// killed, and the output drained to out (what background processes
// printed after the last command).
func (s *session) close(out func(string)) {
	_ = s.stdin.Close()
	_ = s.sess.Stop()
	s.drain(out)
}

// drain reads the events until the session has ended, passing output
// lines to out.
func (s *session) drain(out func(string)) {
	for ev := range s.events {
		switch ev.kind {
		case evOutput:
			out(ev.text)
		case evExited:
			s.dead, s.code = true, ev.code
		}
	}
}
