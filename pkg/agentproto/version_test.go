package agentproto

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestParsePeerBounds: the agent headers parse within their bounds and are refused outside them
// with an error naming the header; an agent without headers is protocol 1 with [deploy].
func TestParsePeerBounds(t *testing.T) {
	names := func(n int) string {
		var s []string
		for i := range n {
			s = append(s, "k"+strings.Repeat("x", i%3)+string(rune('a'+i%26))+strings.Repeat("0", i/26))
		}
		return strings.Join(s, ",")
	}
	tests := []struct {
		name    string
		hdr     map[string][]string
		want    Peer
		wantErr string // a substring of the error
	}{
		{name: "no headers is protocol 1", hdr: nil, want: Peer{Protocol: 1, Capabilities: []string{KindDeploy}}},
		{name: "this release", hdr: map[string][]string{HeaderProtocol: {"2"}, HeaderCapabilities: {"deploy"}, HeaderPlugins: {""}},
			want: Peer{Protocol: 2, Capabilities: []string{"deploy"}}},
		{name: "lists are sorted, trimmed, deduplicated", hdr: map[string][]string{HeaderProtocol: {" 7 "}, HeaderCapabilities: {"deploy, build,deploy"}, HeaderPlugins: {"z.p", "a_p-1"}},
			want: Peer{Protocol: 7, Capabilities: []string{"build", "deploy"}, Plugins: []string{"a_p-1", "z.p"}}},
		{name: "version 1000", hdr: map[string][]string{HeaderProtocol: {"1000"}}, want: Peer{Protocol: 1000, Capabilities: []string{KindDeploy}}},
		{name: "32 capabilities", hdr: map[string][]string{HeaderCapabilities: {names(32)}}, want: Peer{Protocol: 1, Capabilities: sorted(strings.Split(names(32), ","))}},
		{name: "64-character name", hdr: map[string][]string{HeaderPlugins: {strings.Repeat("a", 64)}}, want: Peer{Protocol: 1, Capabilities: []string{KindDeploy}, Plugins: []string{strings.Repeat("a", 64)}}},

		{name: "version 0", hdr: map[string][]string{HeaderProtocol: {"0"}}, wantErr: HeaderProtocol + ` is "0"; want an integer from 1 to 1000`},
		{name: "version 1001", hdr: map[string][]string{HeaderProtocol: {"1001"}}, wantErr: "from 1 to 1000"},
		{name: "version not a number", hdr: map[string][]string{HeaderProtocol: {"2.1"}}, wantErr: HeaderProtocol},
		{name: "huge version", hdr: map[string][]string{HeaderProtocol: {strings.Repeat("9", 400)}}, wantErr: "...\"; want an integer"},
		{name: "version twice", hdr: map[string][]string{HeaderProtocol: {"2", "2"}}, wantErr: "given 2 times"},
		{name: "33 capabilities", hdr: map[string][]string{HeaderCapabilities: {names(33)}}, wantErr: "more than 32"},
		{name: "33 plugins over two headers", hdr: map[string][]string{HeaderPlugins: {names(20), strings.Join(strings.Split(names(33), ",")[20:], ",")}}, wantErr: "more than 32"},
		{name: "65-character name", hdr: map[string][]string{HeaderCapabilities: {strings.Repeat("a", 65)}}, wantErr: "1 to 64 characters"},
		{name: "upper case", hdr: map[string][]string{HeaderCapabilities: {"Deploy"}}, wantErr: `has "Deploy"`},
		{name: "space inside a name", hdr: map[string][]string{HeaderPlugins: {"a b"}}, wantErr: HeaderPlugins},
		{name: "empty capabilities", hdr: map[string][]string{HeaderCapabilities: {" , "}}, wantErr: "is empty"},
		{name: "absurdly long header", hdr: map[string][]string{HeaderPlugins: {strings.Repeat("a,", 10000)}}, wantErr: "bytes long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, vs := range tt.hdr {
				for _, v := range vs {
					h.Add(k, v)
				}
			}
			got, err := ParsePeer(h)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePeer = %+v, %v; want an error with %q", got, err, tt.wantErr)
				}
				if len(err.Error()) > 300 {
					t.Fatalf("error of %d bytes: %.300s", len(err.Error()), err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Protocol != tt.want.Protocol || !slices.Equal(got.Capabilities, tt.want.Capabilities) || !slices.Equal(got.Plugins, tt.want.Plugins) {
				t.Fatalf("ParsePeer = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func sorted(s []string) []string { slices.Sort(s); return s }

// TestPeerHeadersRoundTrip: what SetHeaders writes ParsePeer reads back, including no plugins.
func TestPeerHeadersRoundTrip(t *testing.T) {
	for _, p := range []Peer{
		{Protocol: ProtocolVersion, Capabilities: []string{KindDeploy}},
		{Protocol: 3, Capabilities: []string{"build", KindDeploy}, Plugins: []string{"docker", "s3"}},
	} {
		h := http.Header{}
		p.SetHeaders(h)
		if h.Get(HeaderProtocol) == "" || len(h.Values(HeaderPlugins)) != 1 {
			t.Fatalf("headers %v", h)
		}
		got, err := ParsePeer(h)
		if err != nil {
			t.Fatal(err)
		}
		if got.Protocol != p.Protocol || !slices.Equal(got.Capabilities, p.Capabilities) || !slices.Equal(got.Plugins, p.Plugins) {
			t.Fatalf("round trip of %+v gave %+v", p, got)
		}
	}
}

// TestDeployMessagesAreProtocol1: a deployment's messages, written with WireKind, encode exactly
// as protocol 1 encoded them (no kind field), and Hello and Heartbeat add nothing when empty;
// a protocol 1 peer decoding a protocol 2 Hello (lenient json.Unmarshal into its own struct)
// keeps every field it knows.
func TestDeployMessagesAreProtocol1(t *testing.T) {
	for _, m := range []any{
		Run{Kind: WireKind(KindDeploy), DeploymentID: "d-1"},
		Cancel{Kind: WireKind(KindDeploy), DeploymentID: "d-1"},
		Ack{Kind: WireKind(KindDeploy), DeploymentID: "d-1", Seq: 3},
		Event{Kind: WireKind(KindDeploy), DeploymentID: "d-1"},
		Log{Kind: WireKind(KindDeploy), DeploymentID: "d-1"},
		Heartbeat{Running: []string{"d-1"}},
	} {
		b, _ := json.Marshal(m)
		if strings.Contains(string(b), `"kind"`) || strings.Contains(string(b), `"work"`) {
			t.Fatalf("%T encodes %s", m, b)
		}
	}
	if k := KindOf(""); k != KindDeploy {
		t.Fatalf("KindOf(\"\") = %q", k)
	}
	if k := WireKind("build"); k != "build" {
		t.Fatalf("WireKind(build) = %q", k)
	}

	type helloV1 struct { // Hello as protocol 1 declared it
		HostID            string        `json:"host_id"`
		ServerID          string        `json:"server_id"`
		HeartbeatInterval time.Duration `json:"heartbeat_interval"`
		Servers           []string      `json:"servers"`
	}
	b, _ := json.Marshal(Hello{HostID: "h", ServerID: "s", HeartbeatInterval: time.Second, Servers: []string{"http://a"},
		Protocol: ProtocolVersion, Kinds: []string{KindDeploy}})
	var old helloV1
	if err := json.Unmarshal(b, &old); err != nil {
		t.Fatal(err)
	}
	if old.HostID != "h" || old.ServerID != "s" || old.HeartbeatInterval != time.Second || len(old.Servers) != 1 {
		t.Fatalf("a protocol 1 agent reads %+v from %s", old, b)
	}
	var hello Hello
	if err := json.Unmarshal([]byte(`{"host_id":"h","server_id":"s","heartbeat_interval":1,"servers":[]}`), &hello); err != nil || hello.Protocol != 0 || hello.Kinds != nil {
		t.Fatalf("a protocol 1 hello reads as %+v, %v", hello, err)
	}
}
