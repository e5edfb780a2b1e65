package gitproto

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

const (
	zero40 = "0000000000000000000000000000000000000000"
	idA    = "1111111111111111111111111111111111111111"
	idB    = "2222222222222222222222222222222222222222"
)

// request builds a receive-pack request body: lines as data packets with a flush where a
// line is "", then the rest verbatim.
func request(t testing.TB, rest string, lines ...string) []byte {
	var b bytes.Buffer
	w := NewWriter(&b)
	for _, l := range lines {
		if l == "" {
			must(t, w.Flush())
			continue
		}
		must(t, w.Line(l))
	}
	b.WriteString(rest)
	return b.Bytes()
}

func TestReadReceiveHead(t *testing.T) {
	body := request(t, "PACK\x00\x00\x00\x02rest-of-pack",
		"shallow "+idB,
		zero40+" "+idA+" refs/heads/main\x00report-status-v2 side-band-64k atomic push-options object-format=sha1 agent=git/2.39.5",
		idA+" "+zero40+" refs/heads/old",
		"",
		"ci.skip",
		"reviewer=ana",
		"")
	r := bytes.NewReader(body)
	h, err := ReadReceiveHead(r, ReceiveLimits{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Command{{zero40, idA, "refs/heads/main"}, {idA, zero40, "refs/heads/old"}}
	if len(h.Commands) != 2 || h.Commands[0] != want[0] || h.Commands[1] != want[1] {
		t.Fatalf("commands %+v, want %+v", h.Commands, want)
	}
	if !h.Commands[0].IsCreate() || h.Commands[0].IsDelete() || !h.Commands[1].IsDelete() {
		t.Fatalf("create/delete wrong: %+v", h.Commands)
	}
	if !h.Atomic() || !h.Capabilities.Has("report-status-v2") || h.Capabilities.Has("report-status") {
		t.Fatalf("capabilities %v", h.Capabilities)
	}
	if v, _ := h.Capabilities.Value("agent"); v != "git/2.39.5" {
		t.Fatalf("agent %q", v)
	}
	if strings.Join(h.PushOptions, ",") != "ci.skip,reviewer=ana" {
		t.Fatalf("push options %q", h.PushOptions)
	}
	if strings.Join(h.Shallow, ",") != idB {
		t.Fatalf("shallow %q", h.Shallow)
	}
	// The head is exactly the bytes before the pack, and replaying it gives the body back.
	headLen := len(body) - len("PACK\x00\x00\x00\x02rest-of-pack")
	if !bytes.Equal(h.Raw, body[:headLen]) {
		t.Fatalf("raw head %q, want %q", h.Raw, body[:headLen])
	}
	again, _ := io.ReadAll(h.Body(r))
	if !bytes.Equal(again, body) {
		t.Fatalf("replayed body differs:\n%q\n%q", again, body)
	}
}

func TestReadReceiveHeadVariants(t *testing.T) {
	t.Run("no capabilities, no push options section without the capability", func(t *testing.T) {
		h, err := ReadReceiveHead(bytes.NewReader(request(t, "0000", idA+" "+idB+" refs/heads/main", "")), ReceiveLimits{})
		if err != nil || len(h.Commands) != 1 || h.PushOptions != nil || len(h.Raw) != 4+len(idA)*2+18+4 {
			t.Fatalf("%+v %v", h, err)
		}
	})
	t.Run("no commands reads no push options", func(t *testing.T) {
		h, err := ReadReceiveHead(bytes.NewReader(request(t, "", "")), ReceiveLimits{})
		if err != nil || len(h.Commands) != 0 || string(h.Raw) != "0000" {
			t.Fatalf("%+v %v", h, err)
		}
	})
	t.Run("sha256", func(t *testing.T) {
		id := strings.Repeat("ab", 32)
		h, err := ReadReceiveHead(bytes.NewReader(request(t, "", ZeroID(64)+" "+id+" refs/heads/main\x00object-format=sha256", "")), ReceiveLimits{})
		if err != nil || h.Commands[0].New != id || !h.Commands[0].IsCreate() {
			t.Fatalf("%+v %v", h, err)
		}
	})
	t.Run("limits", func(t *testing.T) {
		lines := []string{zero40 + " " + idA + " refs/heads/a\x00push-options", zero40 + " " + idA + " refs/heads/b", zero40 + " " + idA + " refs/heads/c", ""}
		if _, err := ReadReceiveHead(bytes.NewReader(request(t, "", lines...)), ReceiveLimits{MaxCommands: 2}); !errors.Is(err, ErrLimit) {
			t.Fatalf("3 commands over a limit of 2: %v", err)
		}
		h, err := ReadReceiveHead(bytes.NewReader(request(t, "", append(lines, "")...)), ReceiveLimits{MaxCommands: 3})
		if err != nil || len(h.Commands) != 3 {
			t.Fatalf("3 commands at a limit of 3: %v", err)
		}
		opts := append(append([]string(nil), lines...), "a", "b", "")
		if _, err := ReadReceiveHead(bytes.NewReader(request(t, "", opts...)), ReceiveLimits{MaxPushOptions: 1}); !errors.Is(err, ErrLimit) {
			t.Fatalf("2 push options over a limit of 1: %v", err)
		}
		long := append(append([]string(nil), lines...), strings.Repeat("o", 11), "")
		if _, err := ReadReceiveHead(bytes.NewReader(request(t, "", long...)), ReceiveLimits{MaxPushOptionLen: 10}); !errors.Is(err, ErrLimit) {
			t.Fatalf("an 11-byte push option over a limit of 10: %v", err)
		}
		shallow := []string{"shallow " + idA, "shallow " + idB, ""}
		if _, err := ReadReceiveHead(bytes.NewReader(request(t, "", shallow...)), ReceiveLimits{MaxShallow: 1}); !errors.Is(err, ErrLimit) {
			t.Fatalf("2 shallow lines over a limit of 1: %v", err)
		}
	})
}

func TestReadReceiveHeadRefuses(t *testing.T) {
	cmd := zero40 + " " + idA + " refs/heads/main"
	tests := []struct {
		name string
		body []byte
		want error
	}{
		{"push-cert", request(t, "", "push-cert\x00report-status", "certificate version 0.1", ""), ErrUnsupported},
		{"no flush", request(t, "", cmd), ErrMalformed},
		{"no flush after push options", request(t, "", cmd+"\x00push-options", "", "opt"), ErrMalformed},
		{"delim in the command list", []byte("0001"), ErrMalformed},
		{"bad length", []byte("zzzz"), ErrMalformed},
		{"capabilities on a later line", request(t, "", cmd, zero40+" "+idB+" refs/heads/b\x00atomic", ""), ErrMalformed},
		{"a ref twice", request(t, "", cmd, idA+" "+idB+" refs/heads/main", ""), ErrMalformed},
		{"ref not under refs/", request(t, "", zero40+" "+idA+" HEAD", ""), ErrMalformed},
		{"invalid ref", request(t, "", zero40+" "+idA+" refs/heads/a..b", ""), ErrMalformed},
		{"uppercase hex", request(t, "", zero40+" "+strings.ToUpper("abcdef1234abcdef1234abcdef1234abcdef1234")+" refs/heads/a", ""), ErrMalformed},
		{"short id", request(t, "", zero40+" 1234 refs/heads/a", ""), ErrMalformed},
		{"sha1 ids with sha256 announced", request(t, "", cmd+"\x00object-format=sha256", ""), ErrMalformed},
		{"unknown object format", request(t, "", cmd+"\x00object-format=md5", ""), ErrMalformed},
		{"two fields", request(t, "", zero40+" refs/heads/a", ""), ErrMalformed},
		{"control byte in a capability", request(t, "", cmd+"\x00atomic\x01", ""), ErrMalformed},
		{"control byte in a push option", request(t, "", cmd+"\x00push-options", "", "a\x00b", ""), ErrMalformed},
		{"bad shallow", request(t, "", "shallow xyz", ""), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ReadReceiveHead(bytes.NewReader(tt.body), ReceiveLimits{}); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzReadReceiveHead(f *testing.F) {
	f.Add(request(f, "PACK", zero40+" "+idA+" refs/heads/main\x00report-status atomic push-options", idA+" "+zero40+" refs/heads/x", "", "opt", ""))
	f.Add(request(f, "", "shallow "+idA, idA+" "+idB+" refs/tags/v1", ""))
	f.Add(request(f, "", "push-cert\x00x", ""))
	f.Add([]byte("0000"))
	f.Fuzz(func(t *testing.T, in []byte) {
		h, err := ReadReceiveHead(bytes.NewReader(in), ReceiveLimits{MaxCommands: 5, MaxPushOptions: 3})
		if err != nil {
			return
		}
		if !bytes.HasPrefix(in, h.Raw) || len(h.Commands) > 5 || len(h.PushOptions) > 3 {
			t.Fatalf("head %+v from %q", h, in)
		}
		seen := map[string]bool{}
		for _, c := range h.Commands {
			if ValidateRefName(c.Ref) != nil || seen[c.Ref] || len(c.Old) != len(c.New) {
				t.Fatalf("command %+v accepted", c)
			}
			seen[c.Ref] = true
		}
	})
}
