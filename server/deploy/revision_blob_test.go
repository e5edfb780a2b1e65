package deploy_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/deploy"
)

// TestCreateFromBlob: a bundle pushed as a revision of app "a" becomes a revision of app "b"
// from its blob alone, with the format detected from its bytes; a second call answers the same
// revision (created false), as does one repeated under the same request ID; an unknown blob
// is not found, an unknown application too.
func TestCreateFromBlob(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	c.WaitLeader()
	c.WaitToken()
	ctx := context.Background()
	cl := c.Client(0)
	for _, app := range []string{"a", "b"} {
		if _, err := cl.AppCreate(ctx, pub.AppCreateRequest{Name: app}); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := testutil.RandomBundle(t, 1000)
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	pushed, _, err := cl.RevisionPush(ctx, "a", bytes.NewReader(data), int64(len(data)), sha, "")
	if err != nil {
		t.Fatal(err)
	}
	m, ok := c.Server(0).Service("deploy").(*deploy.Module)
	if !ok {
		t.Fatal("no deploy service")
	}
	revs := m.Revisions()
	rctx := command.WithRequestID(ctx, "test-create-from-blob")
	rev, created, err := revs.CreateFromBlob(rctx, "b", sha, "from a pipeline")
	if err != nil || !created {
		t.Fatalf("CreateFromBlob = %+v, %v, %v", rev, created, err)
	}
	if rev.App != "b" || rev.SHA256 != sha || rev.Size != int64(len(data)) || rev.Format != pushed.Format || rev.ID == pushed.ID || rev.Description != "from a pipeline" {
		t.Fatalf("revision %+v, pushed %+v", rev, pushed)
	}
	again, _, err := revs.CreateFromBlob(rctx, "b", sha, "from a pipeline")
	if err != nil || again.ID != rev.ID {
		t.Fatalf("the same request again = %+v, %v; want %s", again, err, rev.ID)
	}
	again, created, err = revs.CreateFromBlob(ctx, "b", sha, "")
	if err != nil || created || again.ID != rev.ID {
		t.Fatalf("the same content again = %+v, %v, %v; want %s", again, created, err, rev.ID)
	}
	if _, _, err := revs.CreateFromBlob(ctx, "b", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", ""); fault.CodeOf(err) != fault.NotFound {
		t.Fatalf("an unknown blob: %v", err)
	}
	if _, _, err := revs.CreateFromBlob(ctx, "nope", sha, ""); fault.CodeOf(err) != fault.NotFound {
		t.Fatalf("an unknown app: %v", err)
	}
}
