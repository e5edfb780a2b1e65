package git_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
)

// TestChangedPathsAndArchiveBlob: on a repository with three commits made through the API,
// ChangedPaths answers the paths two commits differ in (a change, an addition, a deletion),
// every path of a commit from the zero ID, and stops at max with truncated; ArchiveBlob
// stores exactly the bytes Archive writes, twice to the same blob.
func TestChangedPathsAndArchiveBlob(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	c.WaitLeader()
	c.WaitToken()
	ctx := context.Background()
	cl := c.Client(0)
	if _, err := cl.RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "site"}); err != nil {
		t.Fatal(err)
	}
	head := ""
	put := func(path, content string, del bool) string {
		t.Helper()
		r, err := cl.RepoPutFile(ctx, "site", pub.FilePutRequest{Branch: "main", Path: path, Content: content, Delete: del, Parent: head, Message: path})
		if err != nil {
			t.Fatal(err)
		}
		head = r.Commit
		return r.Commit
	}
	put("a.txt", "a\n", false)
	put("dir/b.txt", "b\n", false)
	c1 := put("old.txt", "old\n", false)
	put("dir/b.txt", "b2\n", false)
	put("c.txt", "c\n", false)
	c2 := put("old.txt", "", true)

	b, err := module(t, c, 0).Browse(ctx, "site")
	if err != nil {
		t.Fatal(err)
	}
	paths, cut, err := b.ChangedPaths(ctx, c1, c2, 1000)
	if err != nil || cut || !slices.Equal(paths, []string{"c.txt", "dir/b.txt", "old.txt"}) {
		t.Fatalf("ChangedPaths(c1, c2) = %q, %v, %v", paths, cut, err)
	}
	paths, cut, err = b.ChangedPaths(ctx, zero, c2, 1000)
	if err != nil || cut || !slices.Equal(paths, []string{"a.txt", "c.txt", "dir/b.txt"}) {
		t.Fatalf("ChangedPaths(zero, c2) = %q, %v, %v", paths, cut, err)
	}
	paths, cut, err = b.ChangedPaths(ctx, c1, c2, 2)
	if err != nil || !cut || !slices.Equal(paths, []string{"c.txt", "dir/b.txt"}) {
		t.Fatalf("ChangedPaths(c1, c2, max 2) = %q, %v, %v", paths, cut, err)
	}
	if _, _, err := b.ChangedPaths(ctx, c1, "main", 10); fault.CodeOf(err) != fault.Invalid {
		t.Fatalf("ChangedPaths of a branch name: %v, want invalid", err)
	}
	if _, _, err := b.ChangedPaths(ctx, c1, "1234567890123456789012345678901234567890", 10); fault.CodeOf(err) != fault.NotFound {
		t.Fatalf("ChangedPaths of an unknown commit: %v, want not found", err)
	}

	var tar bytes.Buffer
	if err := b.Archive(ctx, c2, &tar); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(tar.Bytes())
	for i := 0; i < 2; i++ {
		blob, err := b.ArchiveBlob(ctx, c2)
		if err != nil {
			t.Fatal(err)
		}
		if blob.SHA256 != hex.EncodeToString(sum[:]) || blob.Size != int64(tar.Len()) {
			t.Fatalf("ArchiveBlob = %s (%d bytes), the archive is %x (%d bytes)", blob.SHA256, blob.Size, sum, tar.Len())
		}
	}
}
