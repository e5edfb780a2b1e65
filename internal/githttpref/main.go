// Command githttpref serves the bare repositories under a folder with git's own smart HTTP
// server, `git http-backend`, run per request as a CGI program by Go's net/http/cgi: the
// reference scripts/bench-git.sh and bench-git-large.sh measure Slipway's push, clone and fetch
// against, over the same kind of listener as Slipway's API (Go's net/http on loopback, plain
// HTTP as the benches run their servers), so that the ratio isolates what Slipway adds
// (authorization, the read barrier, replication) from what any smart-HTTP server costs (the
// client's remote-curl helper, HTTP framing). Not a server for anything else: no
// authentication, every repository exported (and pushes accepted into those configured with
// http.receivepack=true).
//
//	githttpref -root DIR -addr 127.0.0.1:PORT [-git PATH]
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"time"
)

func main() {
	root := flag.String("root", "", "the folder of the bare repositories (GIT_PROJECT_ROOT)")
	addr := flag.String("addr", "127.0.0.1:0", "the address to listen on")
	git := flag.String("git", "git", "the git binary")
	flag.Parse()
	if err := run(*root, *addr, *git); err != nil {
		fmt.Fprintln(os.Stderr, "githttpref:", err)
		os.Exit(1)
	}
}

func run(root, addr, git string) error {
	if root == "" {
		return fmt.Errorf("-root is required: the folder holding the bare repositories")
	}
	path, err := exec.LookPath(git)
	if err != nil {
		return fmt.Errorf("git not found: %w", err)
	}
	h := &cgi.Handler{
		Path: path,
		Args: []string{"http-backend"},
		Env: []string{
			"GIT_PROJECT_ROOT=" + root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"HOME=" + os.Getenv("HOME"),
		},
		Logger: log.New(os.Stderr, "githttpref: ", 0),
	}
	srv := &http.Server{Addr: addr, Handler: unchunked(h), ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServe()
}

// unchunked lets a chunked request body (git sends a push of over http.postBuffer so) through
// net/http/cgi, which refuses one: without CONTENT_LENGTH, git http-backend reads its input to
// the end, which the handler's stdin is.
func unchunked(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TransferEncoding) > 0 && r.TransferEncoding[0] == "chunked" {
			r.TransferEncoding = nil
			r.ContentLength = -1
		}
		h.ServeHTTP(w, r)
	})
}
