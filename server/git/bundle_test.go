package git_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/git"
)

// TestBundle pushes branches and a tag through one server of three and downloads the repository
// as a bundle through another: the bundle verifies with git, and a mirror clone of it has
// exactly the replicated refs. An empty repository is refused with a conflict, an unknown one
// is not found, and the answer is a streamed attachment whose trailer says it is whole.
func TestBundle(t *testing.T) {
	w := newWork(t)
	c := testutil.NewCluster(t, 3)
	ctx := context.Background()
	for _, name := range []string{"app", "empty"} {
		if _, err := c.Client(0).RepoCreate(ctx, pub.RepositoryCreateRequest{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	first := w.commit("a.txt", "one\n")
	second := w.commit("b.txt", "two\n")
	res := push(t, c, 0, "app", w.pack(second), true,
		git.RefUpdate{Ref: "refs/heads/main", Old: zero, New: second},
		git.RefUpdate{Ref: "refs/heads/old", Old: zero, New: first},
		git.RefUpdate{Ref: "refs/tags/v1", Old: zero, New: first})
	if len(res) != 3 || !res[0].OK || !res[1].OK || !res[2].OK {
		t.Fatalf("push: %+v", res)
	}

	// Through server 2, right after the push was acknowledged through server 0.
	file := filepath.Join(t.TempDir(), "app.bundle")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Client(2).RepoBundle(ctx, "app", f); err != nil {
		t.Fatalf("bundle: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	w.git(nil, "bundle", "verify", file) // fails the test unless git accepts it
	mirror := filepath.Join(t.TempDir(), "mirror.git")
	w.git(nil, "clone", "--quiet", "--mirror", file, mirror)
	got, err := bareGit(t, mirror, "for-each-ref", "--format=%(objectname) %(refname)")
	if err != nil {
		t.Fatal(err)
	}
	want, err := module(t, c, 0).Repos().Refs(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for ref, sha := range want {
		lines = append(lines, sha+" "+ref)
	}
	sort.Slice(lines, func(a, b int) bool { return lines[a][41:] < lines[b][41:] })
	if got != strings.Join(lines, "\n") || len(lines) != 3 {
		t.Fatalf("the bundle's refs:\n%s\nwant the replicated refs:\n%s", got, strings.Join(lines, "\n"))
	}
	if head, err := bareGit(t, mirror, "symbolic-ref", "HEAD"); err != nil || head != "refs/heads/main" {
		t.Fatalf("the bundle's HEAD: %q %v; want refs/heads/main", head, err)
	}

	// The answer as HTTP: an attachment named after the repository, the trailer "ok".
	req, _ := http.NewRequest(http.MethodGet, c.URL(1)+"/v1/repos/app/bundle", nil)
	req.Header.Set("Authorization", "Bearer "+testutil.ManagementToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET bundle: %d %v", resp.StatusCode, err)
	}
	if ct, cd := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"); ct != "application/octet-stream" || cd != "attachment; filename=app.bundle" {
		t.Errorf("Content-Type %q, Content-Disposition %q", ct, cd)
	}
	if s := resp.Trailer.Get(pub.BundleStatusTrailer); s != pub.BundleStatusOK {
		t.Errorf("trailer %s = %q; want %q", pub.BundleStatusTrailer, s, pub.BundleStatusOK)
	}
	if !bytes.HasPrefix(body, []byte("# v2 git bundle\n")) {
		t.Errorf("the body does not start as a git bundle: %q", body[:min(len(body), 40)])
	}

	// Each download is audited under its action and repository: the two above, allowed.
	testutil.Eventually(t, 10*time.Second, func() error {
		l, err := c.Client(0).AuditList(ctx, pub.AuditFilter{Action: "codecommit:GetRepositoryBundle"}, &pub.QueryOptions{Consistent: true})
		if err != nil {
			return err
		}
		if len(l.Records) != 2 {
			return fmt.Errorf("%d audit records of bundles, want 2: %+v", len(l.Records), l.Records)
		}
		for _, rec := range l.Records {
			if rec.Outcome != "allowed" || !strings.HasSuffix(rec.Resource, "repo/app") || rec.Principal.Name == "" {
				return fmt.Errorf("audit record %+v", rec)
			}
		}
		return nil
	})

	err = c.Client(1).RepoBundle(ctx, "empty", io.Discard)
	if !pub.IsConflict(err) || !strings.Contains(err.Error(), "is empty") {
		t.Fatalf("bundle of an empty repository: %v; want a conflict saying it is empty", err)
	}
	if err := c.Client(1).RepoBundle(ctx, "nope", io.Discard); !pub.IsNotFound(err) {
		t.Fatalf("bundle of an unknown repository: %v; want not found", err)
	}
}
