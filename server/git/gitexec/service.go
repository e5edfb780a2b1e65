package gitexec

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/slipwayhq/slipway/server/git/gitproto"
)

// ServiceRequest is one call of a smart service in stateless-rpc mode, as smart HTTP makes
// it (and SSH, one request at a time).
type ServiceRequest struct {
	// Dir is the bare repository, an absolute path.
	Dir string
	// Advertise asks for the ref advertisement (GET info/refs) instead of serving a request.
	// The caller writes the "# service=..." preamble itself, and only for protocol v0/v1.
	Advertise bool
	// Protocol is the client's Git-Protocol header (or SSH GIT_PROTOCOL); it is checked with
	// gitproto.ParseGitProtocol and passed to git as GIT_PROTOCOL only if valid.
	Protocol string
	// Stdin is the request body (nil when advertising); Stdout receives the response. Both
	// are streamed.
	Stdin  io.Reader
	Stdout io.Writer
	// Env adds SLIPWAY_* variables, which the hooks of receive-pack inherit.
	Env []string
	// Conversation runs the service without --stateless-rpc: git holds the whole conversation
	// on Stdin and Stdout, advertisement included, as over SSH. Only UploadPack takes it (a
	// push's head must be read and authorized before receive-pack runs).
	Conversation bool
}

// UploadPack runs "git upload-pack --stateless-rpc [--advertise-refs] --strict DIR" (fetch
// and clone), or "git upload-pack --strict DIR" for a whole conversation (r.Conversation).
func (g *Git) UploadPack(ctx context.Context, r ServiceRequest) error {
	return g.service(ctx, "upload-pack", r)
}

// ReceivePack runs "git receive-pack --stateless-rpc [--advertise-refs] DIR" (push). The
// repository's hooks run inside it, in the same process group, with r.Env.
func (g *Git) ReceivePack(ctx context.Context, r ServiceRequest) error {
	return g.service(ctx, "receive-pack", r)
}

func (g *Git) service(ctx context.Context, name string, r ServiceRequest) error {
	if !filepath.IsAbs(r.Dir) {
		return fmt.Errorf("git %s: repository %q must be an absolute path", name, r.Dir)
	}
	proto, err := gitproto.ParseGitProtocol(r.Protocol)
	if err != nil {
		return fmt.Errorf("git %s: %w", name, err)
	}
	if r.Conversation && (name != "upload-pack" || r.Advertise) {
		return fmt.Errorf("git %s: a whole conversation is served by upload-pack alone, without Advertise", name)
	}
	args := []string{name}
	if !r.Conversation {
		args = append(args, "--stateless-rpc")
	}
	if r.Advertise {
		args = append(args, "--advertise-refs")
	}
	if name == "upload-pack" {
		args = append(args, "--strict")
	}
	args = append(args, r.Dir)
	// The repository is an argument, not GIT_DIR: the services enter it themselves.
	env, err := g.envFor(Command{Env: r.Env})
	if err != nil {
		return err
	}
	if proto != "" {
		env = append(env, "GIT_PROTOCOL="+proto)
	}
	stdin := r.Stdin
	if r.Advertise {
		stdin = nil
	}
	return g.run(ctx, Command{Args: args, GitDir: "", Stdin: stdin, Stdout: r.Stdout}, env)
}
