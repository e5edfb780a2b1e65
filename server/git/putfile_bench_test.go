package git_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// BenchmarkPutFile measures one edit through POST /v1/repos/{name}/files on three servers: the
// commit made by git in a temporary object directory, its pack stored as a quorum blob, one
// repo.push committed and applied, answered. Each edit's parent is the previous one's commit.
func BenchmarkPutFile(b *testing.B) {
	c := testutil.NewCluster(b, 3)
	ctx := context.Background()
	cl := c.Client(0)
	if _, err := cl.RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "bench"}); err != nil {
		b.Fatal(err)
	}
	res, err := cl.RepoPutFile(ctx, "bench", pub.FilePutRequest{Branch: "main", Path: "f.txt", Content: "0\n", Message: "first"})
	if err != nil {
		b.Fatal(err)
	}
	parent := res.Commit
	b.ResetTimer()
	for i := range b.N {
		res, err := cl.RepoPutFile(ctx, "bench", pub.FilePutRequest{Branch: "main", Path: "f.txt", Content: fmt.Sprintf("%d\n", i+1), Parent: parent, Message: "edit"})
		if err != nil {
			b.Fatal(err)
		}
		parent = res.Commit
	}
}
