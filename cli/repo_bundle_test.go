package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/pkg/api"
)

// bundleServer answers GET /v1/repos/{name}/bundle as the server does: "web" whole, "cut" cut
// short after its first bytes (the trailer says so), "empty" refused with a conflict.
func bundleServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/repos/web/bundle", "/v1/repos/cut/bundle":
			w.Header().Set("Trailer", api.BundleStatusTrailer)
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write([]byte("# v2 git bundle\nbytes of " + strings.Split(r.URL.Path, "/")[3]))
			if strings.HasPrefix(r.URL.Path, "/v1/repos/cut/") {
				w.Header().Set(api.BundleStatusTrailer, "error: the bundle was cut short: git died")
				return
			}
			w.Header().Set(api.BundleStatusTrailer, api.BundleStatusOK)
		case "/v1/repos/empty/bundle":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"error":{"code":"conflict","message":"repository empty is empty"}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestRepoBundle: the file appears only whole, is named NAME.bundle unless -o says otherwise,
// is never overwritten without --force, and nothing is left of a bundle cut short.
func TestRepoBundle(t *testing.T) {
	srv := bundleServer(t)
	dir := t.TempDir()
	t.Chdir(dir)
	cli := func(args ...string) result {
		return runWith(t, context.Background(), nil, append([]string{"--addr", srv.URL, "--token", testToken, "repo", "bundle"}, args...)...)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	if r := cli("web"); r.code != 0 || !strings.Contains(r.stdout, "Wrote repository web to web.bundle") {
		t.Fatalf("bundle web: %+v", r)
	}
	if got := read("web.bundle"); got != "# v2 git bundle\nbytes of web" {
		t.Fatalf("web.bundle holds %q", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "keep.bundle"), []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := cli("web", "-o", "keep.bundle"); r.code != ExitFailure || !strings.Contains(r.stderr, "keep.bundle already exists") || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("bundle over an existing file: %+v", r)
	}
	if got := read("keep.bundle"); got != "precious" {
		t.Fatalf("an existing file was changed without --force: %q", got)
	}
	if r := cli("web", "-o", "keep.bundle", "--force", "--output", "json"); r.code != 0 || !strings.Contains(r.stdout, `"file": "keep.bundle"`) {
		t.Fatalf("bundle --force: %+v", r)
	}
	if got := read("keep.bundle"); got != "# v2 git bundle\nbytes of web" {
		t.Fatalf("keep.bundle after --force holds %q", got)
	}
	if r := cli("web", "-o", "-"); r.code != 0 || r.stdout != "# v2 git bundle\nbytes of web" {
		t.Fatalf("bundle to standard output: %+v", r)
	}

	if r := cli("cut"); r.code != ExitFailure || !strings.Contains(r.stderr, "incomplete: the bundle was cut short: git died") {
		t.Fatalf("bundle cut short: %+v", r)
	}
	if r := cli("empty"); r.code != ExitFailure || !strings.Contains(r.stderr, "is empty") {
		t.Fatalf("bundle of an empty repository: %+v", r)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "keep.bundle web.bundle" {
		t.Fatalf("files left: %v; want only keep.bundle and web.bundle (nothing of cut or empty, no partial file)", names)
	}
}
