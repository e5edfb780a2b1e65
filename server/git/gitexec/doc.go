// Package gitexec runs the real git for Slipway: the smart services (upload-pack and
// receive-pack in stateless-rpc mode) and plumbing (for-each-ref, index-pack, update-ref,
// cat-file).
//
// Every run is isolated from the machine it runs on: no system or user configuration
// (GIT_CONFIG_NOSYSTEM=1, GIT_CONFIG_GLOBAL=/dev/null), HOME a directory the server owns, no
// inherited GIT_* or other variables, LC_ALL=C and a minimal PATH, so that what git does
// depends only on the repository's own config, written by InitBare. Each git runs in its own
// process group, which is killed when the caller's context ends; its stderr is kept (bounded)
// and included in the error. Request and response bodies are streamed through stdin and
// stdout, never held in memory.
package gitexec
