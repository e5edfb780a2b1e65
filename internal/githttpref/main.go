// Command githttpref serves the bare repositories under a folder with git's own smart HTTP
// server, `git http-backend`, run per request as a CGI program by Go's net/http/cgi: the
// reference scripts/bench-git.sh measures Slipway's clone and fetch against, over the same
// kind of listener as Slipway's API (Go's net/http on loopback, plain HTTP as the bench runs
// its servers), so that the ratio isolates what Slipway adds (authorization, the read barrier,
// the replica) from what any smart-HTTP server costs (the client's remote-curl helper, HTTP
// framing). Not a server for anything else: no authentication, every repository exported.
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
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServe()
}
