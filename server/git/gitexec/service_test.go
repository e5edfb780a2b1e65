package gitexec

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/server/git/gitproto"
)

func TestServiceAdvertisement(t *testing.T) {
	g := newGit(t)
	dir := initRepo(t, g)
	ctx := context.Background()

	// Protocol v2: upload-pack answers with its capability advertisement.
	var out bytes.Buffer
	if err := g.UploadPack(ctx, ServiceRequest{Dir: dir, Advertise: true, Protocol: "version=2", Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	first := firstLine(t, out.Bytes())
	if first != "version 2" || !strings.Contains(out.String(), "fetch=") {
		t.Fatalf("v2 advertisement starts %q:\n%q", first, out.String())
	}
	// Protocol v0 (no header): an empty repository advertises capabilities^{}.
	out.Reset()
	if err := g.ReceivePack(ctx, ServiceRequest{Dir: dir, Advertise: true, Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	if first := firstLine(t, out.Bytes()); !strings.Contains(first, "capabilities^{}") || !strings.Contains(first, "push-options") || !strings.Contains(first, "atomic") {
		t.Fatalf("receive-pack advertisement %q", first)
	}
}

func TestServiceRefusesBadInput(t *testing.T) {
	g := newGit(t)
	dir := initRepo(t, g)
	ctx := context.Background()
	var out bytes.Buffer
	for _, r := range []ServiceRequest{
		{Dir: dir, Advertise: true, Protocol: "version=2\nGIT_DIR=/", Stdout: &out},
		{Dir: "relative.git", Advertise: true, Stdout: &out},
		{Dir: dir, Advertise: true, Stdout: &out, Env: []string{"GIT_EXEC_PATH=/tmp"}},
	} {
		if err := g.UploadPack(ctx, r); err == nil {
			t.Errorf("UploadPack(%+v) = nil, want an error", r)
		}
		if err := g.ReceivePack(ctx, r); err == nil {
			t.Errorf("ReceivePack(%+v) = nil, want an error", r)
		}
	}
	if out.Len() != 0 {
		t.Fatalf("refused requests ran git: %q", out.String())
	}
	// A directory that is not a repository is git's error, with its stderr.
	err := g.UploadPack(ctx, ServiceRequest{Dir: t.TempDir(), Advertise: true, Stdout: &out})
	if err == nil || !strings.Contains(err.Error(), "does not appear to be a git repository") {
		t.Fatalf("not a repository: %v", err)
	}
}

func firstLine(t *testing.T, b []byte) string {
	t.Helper()
	_, p, err := gitproto.NewReader(bytes.NewReader(b)).Next()
	if err != nil {
		t.Fatalf("advertisement %q: %v", b, err)
	}
	return string(gitproto.TrimLF(p))
}

// TestServiceConversation: upload-pack without --stateless-rpc advertises first and then serves
// the client's requests on the same stdin (here: v2's ls-refs, then the end); receive-pack and
// an advertisement are refused as conversations.
func TestServiceConversation(t *testing.T) {
	g := newGit(t)
	dir := initRepo(t, g)
	ctx := context.Background()
	var in bytes.Buffer
	pw := gitproto.NewWriter(&in)
	_ = pw.Line("command=ls-refs")
	_ = pw.Flush()
	_ = pw.Flush() // an empty command list: the conversation ends
	var out bytes.Buffer
	if err := g.UploadPack(ctx, ServiceRequest{Dir: dir, Protocol: "version=2", Stdin: &in, Stdout: &out, Conversation: true}); err != nil {
		t.Fatalf("upload-pack conversation: %v\n%q", err, out.String())
	}
	if first := firstLine(t, out.Bytes()); first != "version 2" {
		t.Fatalf("the conversation starts %q; want the v2 advertisement", first)
	}
	for _, req := range []ServiceRequest{
		{Dir: dir, Conversation: true, Stdin: strings.NewReader(""), Stdout: &out},
		{Dir: dir, Conversation: true, Advertise: true, Stdout: &out},
	} {
		run := g.ReceivePack
		if req.Advertise {
			run = g.UploadPack
		}
		if err := run(ctx, req); err == nil || !strings.Contains(err.Error(), "whole conversation") {
			t.Errorf("%+v: %v; want it refused", req, err)
		}
	}
}
