package gitproto

import (
	"fmt"
	"io"
	"strings"
)

// The proc-receive hook protocol, hook side (githooks(5), "proc-receive"). receive-pack,
// configured with receive.procReceiveRefs, hands the hook every matching ref update instead
// of moving refs itself, and reports to the client what the hook answers:
//
//	receive-pack: PKT-LINE(version=1 NUL features) flush     features: atomic, push-options
//	hook:         PKT-LINE(version=1 NUL features) flush     push-options if it wants them
//	receive-pack: *PKT-LINE(old SP new SP ref) flush
//	receive-pack: *PKT-LINE(push-option) flush               only if both asked for push-options
//	hook:         *PKT-LINE("ok" SP ref | "ng" SP ref SP reason) flush
//
// receive-pack announces "atomic" only for an atomic push (git push --atomic), and does not
// enforce atomicity over the hook's answers itself (git 2.39 reports an "ok" beside an "ng"):
// Respond does.

// ProcReceive is what receive-pack sent the hook.
type ProcReceive struct {
	// Features are those receive-pack announced on its version line.
	Features Capabilities
	// Commands are the ref updates, in receive-pack's order.
	Commands []Command
	// PushOptions are the client's push options (git push -o), when it sent any.
	PushOptions []string
}

// Atomic reports whether the client asked for an all-or-nothing push.
func (p *ProcReceive) Atomic() bool { return p.Features.Has("atomic") }

// ReadProcReceive runs the hook's side of the exchange up to the point where the hook must
// decide: it reads receive-pack's version line, answers on w (asking for push options when
// receive-pack offers them), and reads the commands and push options. lim bounds the
// commands and push options as for ReadReceiveHead. The hook then answers with Respond.
func ReadProcReceive(r io.Reader, w io.Writer, lim ReceiveLimits) (*ProcReceive, error) {
	lim = lim.withDefaults()
	pr := NewReader(r)
	p := &ProcReceive{}
	versionSeen := false
	for {
		kind, data, err := pr.Next()
		if err != nil {
			return nil, headErr("proc-receive version negotiation", err)
		}
		if kind == Flush {
			break
		}
		if kind != Data {
			return nil, malformed("unexpected %s packet in the proc-receive version negotiation", kind)
		}
		if versionSeen {
			continue // later lines carry nothing this hook understands
		}
		line, features, _ := strings.Cut(string(TrimLF(data)), "\x00")
		if line != "version=1" {
			return nil, malformed("receive-pack speaks proc-receive %q; this hook speaks version=1", truncate(line))
		}
		if p.Features, err = parseCapabilities(features); err != nil {
			return nil, err
		}
		versionSeen = true
	}
	if !versionSeen {
		return nil, malformed("receive-pack sent no proc-receive version line")
	}
	pw := NewWriter(w)
	answer := "version=1"
	wantOptions := p.Features.Has("push-options")
	if wantOptions {
		answer += "\x00push-options"
	}
	if err := pw.Line(answer); err != nil {
		return nil, fmt.Errorf("answering receive-pack's version: %w", err)
	}
	if err := pw.Flush(); err != nil {
		return nil, fmt.Errorf("answering receive-pack's version: %w", err)
	}

	seen := make(map[string]bool)
	hexLen := 0
	for {
		kind, data, err := pr.Next()
		if err != nil {
			return nil, headErr("proc-receive commands", err)
		}
		if kind == Flush {
			break
		}
		if kind != Data {
			return nil, malformed("unexpected %s packet in the proc-receive commands", kind)
		}
		line := string(TrimLF(data))
		if hexLen == 0 {
			if old, _, _ := strings.Cut(line, " "); len(old) == 64 {
				hexLen = 64
			} else {
				hexLen = 40
			}
		}
		if len(p.Commands) >= lim.MaxCommands {
			return nil, fmt.Errorf("%w: more than %d commands", ErrLimit, lim.MaxCommands)
		}
		c, err := parseCommand(line, hexLen)
		if err != nil {
			return nil, err
		}
		if seen[c.Ref] {
			return nil, malformed("ref %q appears twice", c.Ref)
		}
		seen[c.Ref] = true
		p.Commands = append(p.Commands, c)
	}
	if wantOptions {
		opts, err := readPushOptions(pr, lim.MaxPushOptions, lim.MaxPushOptionLen)
		if err != nil {
			return nil, err
		}
		p.PushOptions = opts
	}
	return p, nil
}

// Result is the hook's answer for one ref: Reason "" accepts it ("ok"), anything else
// rejects it ("ng"), and the client prints "! [remote rejected] REF (Reason)".
type Result struct {
	Ref    string
	Reason string
}

// MaxReasonLen bounds a rejection reason as written to receive-pack.
const MaxReasonLen = 256

// AtomicFailure is the reason given to refs that were accepted but whose atomic push failed
// on another ref; it is git's own wording.
const AtomicFailure = "atomic push failure"

// Respond writes the hook's answers on w and the closing flush. results must hold exactly
// one answer for each command, in any order. For an atomic push with any rejection, every
// accepted ref is answered "ng ... atomic push failure" instead, so the client sees the whole
// push refused. A reason's control characters become spaces and it is cut to MaxReasonLen.
func (p *ProcReceive) Respond(w io.Writer, results []Result) error {
	byRef := make(map[string]string, len(results))
	rejected := false
	for _, r := range results {
		if _, dup := byRef[r.Ref]; dup {
			return fmt.Errorf("proc-receive: two answers for %q", r.Ref)
		}
		byRef[r.Ref] = r.Reason
		rejected = rejected || r.Reason != ""
	}
	if len(byRef) != len(p.Commands) {
		return fmt.Errorf("proc-receive: %d answers for %d commands", len(byRef), len(p.Commands))
	}
	pw := NewWriter(w)
	for _, c := range p.Commands {
		reason, ok := byRef[c.Ref]
		if !ok {
			return fmt.Errorf("proc-receive: no answer for %q", c.Ref)
		}
		if reason == "" && rejected && p.Atomic() {
			reason = AtomicFailure
		}
		line := "ok " + c.Ref
		if reason != "" {
			line = "ng " + c.Ref + " " + cleanReason(reason)
		}
		if err := pw.Line(line); err != nil {
			return fmt.Errorf("proc-receive: writing the answer for %q: %w", c.Ref, err)
		}
	}
	return pw.Flush()
}

func cleanReason(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = ' '
		}
	}
	s = strings.TrimSpace(string(b))
	if len(s) > MaxReasonLen {
		s = strings.ToValidUTF8(s[:MaxReasonLen], "")
	}
	if s == "" {
		s = "rejected"
	}
	return s
}
