package gitproto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrLimit is matched (errors.Is) by an error that reports input over one of the limits
// the caller gave; the HTTP layer answers it differently from malformed input.
var ErrLimit = errors.New("git request over a limit")

// ErrUnsupported is matched by an error that reports a protocol feature Slipway does not
// serve (signed pushes).
var ErrUnsupported = errors.New("git protocol feature not supported")

// Default limits of a receive-pack request head, used where ReceiveLimits leaves a zero.
const (
	DefaultMaxCommands      = 1000
	DefaultMaxShallow       = 10000
	DefaultMaxPushOptions   = 100
	DefaultMaxPushOptionLen = 1024
)

// ReceiveLimits bounds what ReadReceiveHead accepts; a zero field takes its default.
type ReceiveLimits struct {
	MaxCommands      int // refs per push
	MaxShallow       int // shallow lines before the commands
	MaxPushOptions   int // push options (git push -o)
	MaxPushOptionLen int // bytes of one push option
}

func (l ReceiveLimits) withDefaults() ReceiveLimits {
	if l.MaxCommands <= 0 {
		l.MaxCommands = DefaultMaxCommands
	}
	if l.MaxShallow <= 0 {
		l.MaxShallow = DefaultMaxShallow
	}
	if l.MaxPushOptions <= 0 {
		l.MaxPushOptions = DefaultMaxPushOptions
	}
	if l.MaxPushOptionLen <= 0 {
		l.MaxPushOptionLen = DefaultMaxPushOptionLen
	}
	return l
}

// ReceiveHead is the part of a receive-pack request before the pack: what the push asks
// for, read so that the server can authorize each ref before git runs.
type ReceiveHead struct {
	// Commands are the ref updates in the order sent; no ref appears twice.
	Commands []Command
	// Capabilities are those on the first command line (report-status, atomic, ...).
	Capabilities Capabilities
	// Shallow holds the object IDs of "shallow" lines (a push from a shallow clone).
	Shallow []string
	// PushOptions are the push options, read only when the push-options capability is
	// present and there is at least one command, as receive-pack does.
	PushOptions []string
	// Raw is every byte the head took. Replay it before the rest of the body when handing
	// the request to git: io.MultiReader(bytes.NewReader(h.Raw), body), or h.Body(body).
	Raw []byte
}

// Atomic reports whether the client asked for an all-or-nothing push.
func (h *ReceiveHead) Atomic() bool { return h.Capabilities.Has("atomic") }

// Body returns the whole request body again: the head's bytes followed by rest, the
// reader ReadReceiveHead read from, positioned after the head.
func (h *ReceiveHead) Body(rest io.Reader) io.Reader {
	return io.MultiReader(bytes.NewReader(h.Raw), rest)
}

// ReadReceiveHead reads the head of a git-receive-pack request (gitprotocol-pack(5),
// "Reference Update Request"):
//
//	*PKT-LINE("shallow" SP obj-id LF)
//	PKT-LINE(old SP new SP ref NUL capabilities LF)
//	*PKT-LINE(old SP new SP ref LF)
//	flush-pkt
//	[*PKT-LINE(push-option LF) flush-pkt]      when push-options was asked for
//
// It reads nothing past the head, so r is left at the pack. A signed push (push-cert) is
// refused with ErrUnsupported; more commands, shallow lines or push options than lim allows
// with ErrLimit; anything else that is not a well-formed head, including an invalid ref name
// (ValidateRefName) or a ref named twice, with ErrMalformed.
func ReadReceiveHead(r io.Reader, lim ReceiveLimits) (*ReceiveHead, error) {
	lim = lim.withDefaults()
	var raw bytes.Buffer
	pr := NewReader(io.TeeReader(r, &raw))
	h := &ReceiveHead{}
	seen := make(map[string]bool)
	hexLen := 40
	for {
		kind, p, err := pr.Next()
		if err != nil {
			return nil, headErr("command list", err)
		}
		if kind == Flush {
			break
		}
		if kind != Data {
			return nil, malformed("unexpected %s packet in the command list", kind)
		}
		line := string(TrimLF(p))
		if len(h.Commands) == 0 {
			if id, ok := strings.CutPrefix(line, "shallow "); ok {
				if len(h.Shallow) >= lim.MaxShallow {
					return nil, fmt.Errorf("%w: more than %d shallow lines", ErrLimit, lim.MaxShallow)
				}
				if !validHexID(id, len(id)) || (len(id) != 40 && len(id) != 64) {
					return nil, malformed("shallow line %q does not hold an object ID", truncate(line))
				}
				h.Shallow = append(h.Shallow, id)
				continue
			}
			if line == "push-cert" || strings.HasPrefix(line, "push-cert\x00") {
				return nil, fmt.Errorf("%w: signed pushes (git push --signed) are not supported; push without --signed", ErrUnsupported)
			}
			cmd, capList, hasCaps := strings.Cut(line, "\x00")
			if hasCaps {
				if h.Capabilities, err = parseCapabilities(capList); err != nil {
					return nil, err
				}
				if hexLen, err = hexLenOf(h.Capabilities); err != nil {
					return nil, err
				}
			}
			line = cmd
		} else if strings.Contains(line, "\x00") {
			return nil, malformed("only the first command may carry capabilities")
		}
		if len(h.Commands) >= lim.MaxCommands {
			return nil, fmt.Errorf("%w: the push updates more than %d refs; push fewer refs at a time", ErrLimit, lim.MaxCommands)
		}
		c, err := parseCommand(line, hexLen)
		if err != nil {
			return nil, err
		}
		if seen[c.Ref] {
			return nil, malformed("ref %q appears twice in the push", c.Ref)
		}
		seen[c.Ref] = true
		h.Commands = append(h.Commands, c)
	}
	if len(h.Commands) > 0 && h.Capabilities.Has("push-options") {
		opts, err := readPushOptions(pr, lim.MaxPushOptions, lim.MaxPushOptionLen)
		if err != nil {
			return nil, err
		}
		h.PushOptions = opts
	}
	h.Raw = raw.Bytes()
	return h, nil
}

// readPushOptions reads push options up to a flush: at most max of them, each at most
// maxLen bytes of text without NUL or control characters.
func readPushOptions(pr *Reader, max, maxLen int) ([]string, error) {
	var opts []string
	for {
		kind, p, err := pr.Next()
		if err != nil {
			return nil, headErr("push options", err)
		}
		if kind == Flush {
			return opts, nil
		}
		if kind != Data {
			return nil, malformed("unexpected %s packet in the push options", kind)
		}
		opt := TrimLF(p)
		if len(opts) >= max {
			return nil, fmt.Errorf("%w: more than %d push options", ErrLimit, max)
		}
		if len(opt) > maxLen {
			return nil, fmt.Errorf("%w: a push option of %d bytes is over the limit of %d", ErrLimit, len(opt), maxLen)
		}
		for _, c := range opt {
			if c < 0x20 || c == 0x7f {
				return nil, malformed("push option %q has a control character", truncate(string(opt)))
			}
		}
		opts = append(opts, string(opt))
	}
}

// headErr names the section being read when input ends or breaks inside it.
func headErr(section string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return malformed("the request ended inside the %s, before its flush packet", section)
	}
	return fmt.Errorf("reading the %s: %w", section, err)
}
