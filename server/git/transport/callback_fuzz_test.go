package transport

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"testing"

	"github.com/slipwayhq/slipway/server/git/gitproto"
)

// nopBackend accepts every pack and every ref update.
type nopBackend struct{}

func (nopBackend) Repo(context.Context, string) (Repo, error) { return Repo{}, nil }
func (nopBackend) StorePack(context.Context, Repo, string) (string, error) {
	return "0000000000000000000000000000000000000000000000000000000000000000", nil
}
func (nopBackend) Push(_ context.Context, p Push) ([]RefResult, error) {
	out := make([]RefResult, len(p.Updates))
	for i, u := range p.Updates {
		out[i] = RefResult{Ref: u.Ref, OK: true}
	}
	return out, nil
}

// FuzzHookCallback feeds the hook socket's reader arbitrary bytes for a known push: it must
// answer exactly one JSON line, never panic, and answer a push with one result per command.
func FuzzHookCallback(f *testing.F) {
	for _, seed := range []string{
		`{"token":"t","op":"store-pack","pack":"/repo/objects/incoming/pack/pack-1.pack"}` + "\n",
		`{"token":"t","op":"store-pack","pack":"/repo/../etc/passwd.pack"}` + "\n",
		`{"token":"t","op":"push","commands":[{"Old":"0000000000000000000000000000000000000000","New":"1111111111111111111111111111111111111111","Ref":"refs/heads/main"}],"atomic":true}` + "\n",
		`{"token":"t","op":"push","commands":[{"Old":"0","New":"1","Ref":"refs/heads/other"},{"Old":"0","New":"1","Ref":"refs/heads/other"}]}` + "\n",
		`{"token":"nope","op":"push"}` + "\n",
		"not json\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s := New(Config{}, nopBackend{})
		main := "refs/heads/main"
		s.pushes["t"] = &push{ctx: context.Background(), repo: Repo{Name: "app", Dir: "/repo"}, allowed: map[string]gitproto.Command{
			main: {Old: "0000000000000000000000000000000000000000", New: "1111111111111111111111111111111111111111", Ref: main}}}
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer func() { _ = server.Close() }()
			s.serveHook(server)
		}()
		go func() {
			_, _ = client.Write(append(append([]byte(nil), in...), '\n'))
		}()
		line, err := bufio.NewReader(client).ReadBytes('\n')
		_ = client.Close()
		<-done
		if err != nil {
			t.Fatalf("no answer line: %v", err)
		}
		var ans hookAnswer
		if err := json.Unmarshal(line, &ans); err != nil {
			t.Fatalf("answer %q is not JSON: %v", line, err)
		}
		var req hookRequest
		if json.Unmarshal(in, &req) == nil && req.Token == "t" && req.Op == opPush && ans.Error == "" && len(ans.Results) != len(req.Commands) {
			t.Fatalf("%d results for %d commands", len(ans.Results), len(req.Commands))
		}
	})
}
