package agentproto

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// ProtocolVersion is the version of this contract. The release before versions existed counts
// as 1; see "Versions and capabilities" in the package comment for what each side does with an
// older peer.
const ProtocolVersion = 2

// Kinds of work (Run.Kind and the other messages' Kind; Peer.Capabilities).
const (
	KindDeploy = "deploy" // a deployment's lifecycle on this host: Run carries it
)

// Headers an agent sends on POST /v1/agent/register and on the GET /v1/agent/session upgrade,
// where servers of the release before ignore them (its register body is decoded strictly, so
// these facts cannot go there).
const (
	HeaderProtocol     = "Slipway-Agent-Protocol"     // the agent's ProtocolVersion, e.g. "2"
	HeaderCapabilities = "Slipway-Agent-Capabilities" // kinds of work it runs, e.g. "deploy"
	HeaderPlugins      = "Slipway-Agent-Plugins"      // plugins it has, by name ("" for none)
)

// Bounds of the agent headers: ParsePeer refuses anything outside them.
const (
	MaxProtocolVersion = 1000
	MaxPeerNames       = 32 // capabilities, and plugins, each
	MaxPeerNameBytes   = 64
)

// Peer is what an agent says of itself in its headers.
type Peer struct {
	// Protocol is the agent's ProtocolVersion; 1 for an agent that sent no header.
	Protocol int
	// Capabilities are the kinds of work the agent runs, sorted; [deploy] for an agent that sent
	// no header.
	Capabilities []string
	// Plugins are the plugins the agent has, by name, sorted (none yet).
	Plugins []string
}

// Can reports whether the peer runs work of kind.
func (p Peer) Can(kind string) bool { return slices.Contains(p.Capabilities, kind) }

// SetHeaders writes the peer's headers to h.
func (p Peer) SetHeaders(h http.Header) {
	h.Set(HeaderProtocol, strconv.Itoa(p.Protocol))
	h.Set(HeaderCapabilities, strings.Join(p.Capabilities, ","))
	h.Set(HeaderPlugins, strings.Join(p.Plugins, ","))
}

// ParsePeer reads an agent's headers. An agent that sent none of them is of the release before
// versions: protocol 1, capabilities [deploy], no plugins. A header that is present must be
// well formed: the protocol an integer 1..MaxProtocolVersion, capabilities and plugins a list
// of at most MaxPeerNames comma-separated names of 1..MaxPeerNameBytes characters of
// a-z 0-9 . _ - (spaces around commas are allowed, duplicates are dropped). Capabilities, when
// given, must name at least one kind. The error says which header is wrong and why.
func ParsePeer(h http.Header) (Peer, error) {
	p := Peer{Protocol: 1, Capabilities: []string{KindDeploy}}
	if vs := h.Values(HeaderProtocol); len(vs) > 0 {
		if len(vs) > 1 {
			return Peer{}, fmt.Errorf("header %s is given %d times; send it once", HeaderProtocol, len(vs))
		}
		v := strings.TrimSpace(vs[0])
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxProtocolVersion {
			return Peer{}, fmt.Errorf("header %s is %q; want an integer from 1 to %d", HeaderProtocol, clip(v), MaxProtocolVersion)
		}
		p.Protocol = n
	}
	if _, ok := h[http.CanonicalHeaderKey(HeaderCapabilities)]; ok {
		caps, err := parseNames(h, HeaderCapabilities)
		if err != nil {
			return Peer{}, err
		}
		if len(caps) == 0 {
			return Peer{}, fmt.Errorf("header %s is empty; name the kinds of work the agent runs (e.g. %s)", HeaderCapabilities, KindDeploy)
		}
		p.Capabilities = caps
	}
	plugins, err := parseNames(h, HeaderPlugins)
	if err != nil {
		return Peer{}, err
	}
	p.Plugins = plugins
	return p, nil
}

// parseNames reads a header holding a comma-separated list of names; repeated headers add up.
func parseNames(h http.Header, name string) ([]string, error) {
	var out []string
	for _, v := range h.Values(name) {
		if len(v) > MaxPeerNames*(MaxPeerNameBytes+2) {
			return nil, fmt.Errorf("header %s is %d bytes long; it holds at most %d names of at most %d characters", name, len(v), MaxPeerNames, MaxPeerNameBytes)
		}
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			if !peerName(f) {
				return nil, fmt.Errorf("header %s has %q; each name must be 1 to %d characters of a-z 0-9 . _ -", name, clip(f), MaxPeerNameBytes)
			}
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
			if len(out) > MaxPeerNames {
				return nil, fmt.Errorf("header %s names more than %d; the limit is %d", name, MaxPeerNames, MaxPeerNames)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

func peerName(s string) bool {
	if len(s) == 0 || len(s) > MaxPeerNameBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// clip shortens a refused value quoted (with %q, which escapes a cut character) in an error.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// KindOf is the kind a message names: kind, or KindDeploy when it names none (every message of
// protocol 1 is about a deployment).
func KindOf(kind string) string {
	if kind == "" {
		return KindDeploy
	}
	return kind
}

// WireKind is the Kind field a sender writes for work of kind: empty for KindDeploy, so that a
// deployment's messages are byte for byte those of protocol 1, and kind itself otherwise.
func WireKind(kind string) string {
	if kind == KindDeploy {
		return ""
	}
	return kind
}
