package git_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// TestReposOverHTTP drives /v1/repos through pkg/api against a real three-server cluster:
// create through one server and read through another, paging, update of every field, the
// delete confirmation, and the refusals with their statuses.
func TestReposOverHTTP(t *testing.T) {
	c := testutil.NewCluster(t, 3)
	ctx := context.Background()
	cl, other := c.Client(0), c.Client(1)

	for i := range 3 {
		testutil.Eventually(t, 10*time.Second, func() error {
			if c.Server(i).SSHPort() == 0 {
				return fmt.Errorf("server %d serves no SSH yet", i)
			}
			return nil
		})
	}
	created, err := cl.RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "app", Description: "d", Tags: map[string]string{"team": "web"}})
	if err != nil {
		t.Fatal(err)
	}
	wantSSH := fmt.Sprintf("ssh://git@127.0.0.1:%d/app.git", c.Server(0).SSHPort())
	if created.DefaultBranch != "main" || created.ID == "" || created.CloneURLHTTP != c.URL(0)+"/git/app.git" || created.CloneURLSSH != wantSSH {
		t.Fatalf("created %+v; want clone_url_ssh %s", created, wantSSH)
	}
	// One host key for the cluster: every server presents the same.
	k0, err := cl.GitSSHHostKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	k1, err := c.ClientWithToken(1, "").GitSSHHostKey(ctx) // no token needed
	if err != nil {
		t.Fatal(err)
	}
	if k0.PublicKey == "" || !strings.HasPrefix(k0.PublicKey, "ssh-ed25519 ") || k0.PublicKey != k1.PublicKey || k0.Fingerprint != k1.Fingerprint ||
		k1.KnownHosts != fmt.Sprintf("[127.0.0.1]:%d %s", c.Server(1).SSHPort(), k1.PublicKey) {
		t.Fatalf("host keys of two servers: %+v and %+v; want the same ed25519 key and a known_hosts line", k0, k1)
	}
	got, err := other.RepoGet(ctx, "app", &pub.QueryOptions{Consistent: true})
	if err != nil || got.ID != created.ID || got.Tags["team"] != "web" || got.CloneURLHTTP != c.URL(1)+"/git/app.git" {
		t.Fatalf("get through another server: %+v, %v", got, err)
	}
	if _, err := cl.RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "app"}); !pub.IsConflict(err) {
		t.Fatalf("a taken name: %v", err)
	}
	if _, err := cl.RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "bad name"}); !isStatus(err, http.StatusBadRequest) {
		t.Fatalf("a bad name: %v", err)
	}
	for _, n := range []string{"b", "c", "d"} {
		if _, err := cl.RepoCreate(ctx, pub.RepositoryCreateRequest{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	next := ""
	for {
		l, err := cl.RepoList(ctx, &pub.QueryOptions{Limit: 3, Next: next, Consistent: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Repositories) > 3 {
			t.Fatalf("a page of %d with limit 3", len(l.Repositories))
		}
		for _, r := range l.Repositories {
			names = append(names, r.Name)
		}
		if next = l.Next; next == "" {
			break
		}
	}
	if strings.Join(names, ",") != "app,b,c,d" {
		t.Fatalf("listed %v", names)
	}

	desc, branch, name, tags := "new", "trunk", "app2", map[string]string{}
	upd, err := cl.RepoUpdate(ctx, "app", pub.RepositoryUpdateRequest{Description: &desc, DefaultBranch: &branch, Name: &name, Tags: &tags})
	if err != nil || upd.ID != created.ID || upd.Name != "app2" || upd.Description != "new" || upd.DefaultBranch != "trunk" || len(upd.Tags) != 0 || upd.ModifyIndex <= created.ModifyIndex {
		t.Fatalf("update: %+v, %v", upd, err)
	}
	bad := "a..b"
	if _, err := cl.RepoUpdate(ctx, "app2", pub.RepositoryUpdateRequest{DefaultBranch: &bad}); !isStatus(err, http.StatusBadRequest) {
		t.Fatalf("a bad default branch: %v", err)
	}
	taken := "b"
	if _, err := cl.RepoUpdate(ctx, "app2", pub.RepositoryUpdateRequest{Name: &taken}); !pub.IsConflict(err) {
		t.Fatalf("a rename onto a taken name: %v", err)
	}

	if err := cl.RepoDelete(ctx, "app2", ""); !isStatus(err, http.StatusBadRequest) || !strings.Contains(err.Error(), "?confirm=") {
		t.Fatalf("a delete without confirm: %v", err)
	}
	if err := cl.RepoDelete(ctx, "app2", "app2"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.RepoGet(ctx, "app2", &pub.QueryOptions{Consistent: true}); !pub.IsNotFound(err) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := cl.RepoDelete(ctx, "app2", "app2"); !pub.IsNotFound(err) {
		t.Fatalf("a second delete: %v", err)
	}
}

func isStatus(err error, status int) bool {
	var e *pub.Error
	return errors.As(err, &e) && e.Status == status
}
