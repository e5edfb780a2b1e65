package gitexec

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/slipwayhq/slipway/server/git/gitproto"
)

// RepoConfig is the configuration InitBare writes into every bare copy, besides
// core.hooksPath. It is what the push path (DESIGN.md) relies on:
//
//   - receive.procReceiveRefs=refs: receive-pack moves no ref itself; every update under
//     refs/ goes to the proc-receive hook, which proposes it to Raft and answers per ref.
//   - transfer.unpackLimit=1: a received pack with at least one object is kept as one pack
//     (index-pack --fix-thin) in the quarantine, for pre-receive to store as a blob.
//   - receive.fsckObjects=true: received objects are checked (index-pack --strict).
//   - receive.advertisePushOptions=true: clients may send push options (git push -o).
//   - receive.autogc=false, gc.auto=0: git never collects on its own; the server repacks in
//     the background and keeps objects of pushes still in flight.
//   - uploadpack.allowFilter=true, uploadpack.allowReachableSHA1InWant=true: partial clone
//     and its lazy fetches of reachable objects. Never allowAnySHA1InWant: the objects of a
//     push that Raft refused stay in the bare copy until gc and must not be served.
var RepoConfig = [][2]string{
	{"receive.procReceiveRefs", "refs"},
	{"transfer.unpackLimit", "1"},
	{"receive.fsckObjects", "true"},
	{"receive.advertisePushOptions", "true"},
	{"receive.autogc", "false"},
	{"gc.auto", "0"},
	{"uploadpack.allowFilter", "true"},
	{"uploadpack.allowReachableSHA1InWant", "true"},
}

// InitBare creates (or, when it exists, re-initializes) the bare repository dir with
// HEAD naming defaultBranch, no template (so no sample hooks), RepoConfig, and
// core.hooksPath=hooksDir, where the server keeps its pre-receive and proc-receive hooks.
// dir and hooksDir are absolute paths; defaultBranch is a branch name such as "main".
// Re-running it on an existing repository rewrites the configuration and keeps its objects
// and refs (git init does not move HEAD of an existing repository).
func (g *Git) InitBare(ctx context.Context, dir, defaultBranch, hooksDir string) error {
	if !filepath.IsAbs(dir) || !filepath.IsAbs(hooksDir) {
		return fmt.Errorf("init %q: the repository and hooks paths must be absolute (hooks %q)", dir, hooksDir)
	}
	if err := gitproto.ValidateRefName("refs/heads/" + defaultBranch); err != nil {
		return fmt.Errorf("init %q: default branch %q: %w", dir, defaultBranch, err)
	}
	if err := g.Run(ctx, Command{Args: []string{"init", "--quiet", "--bare", "--template=", "--initial-branch=" + defaultBranch, dir}}); err != nil {
		return fmt.Errorf("init %q: %w", dir, err)
	}
	settings := append(append([][2]string(nil), RepoConfig...), [2]string{"core.hooksPath", hooksDir})
	for _, kv := range settings {
		if err := g.Run(ctx, Command{Args: []string{"config", kv[0], kv[1]}, GitDir: dir}); err != nil {
			return fmt.Errorf("init %q: setting %s: %w", dir, kv[0], err)
		}
	}
	return nil
}
