package transport

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/git/gitexec"
	"github.com/slipwayhq/slipway/server/git/gitproto"
)

// DefaultMaxPushBytes is Config.MaxPushBytes when none is given: 2 GiB.
const DefaultMaxPushBytes int64 = 2 << 30

// Config configures the transport.
type Config struct {
	// Git runs the git binary (required). When git is unusable on this server, GitError says
	// why and every request is answered 503 with it.
	Git      *gitexec.Git
	GitError error
	// Kit is the API's handler kit, for authorizing pushes per ref and auditing. It is called
	// per request (the kit exists only once the API server is built, after routes are
	// declared); required.
	Kit func() *api.Kit
	// Dir is where the transport keeps its hook socket (hook.sock, mode 0600); required, an
	// absolute path short enough for a unix socket (about 100 bytes).
	Dir string
	// HooksDir is the hooks directory every bare copy names in core.hooksPath
	// (gitexec.InitBare); Start writes pre-receive and proc-receive there. Required.
	HooksDir string
	// HookBinary is the program the hook scripts run as `HookBinary git-hook NAME` (the
	// slipway binary; a test binary whose TestMain calls RunHookIfInvoked). Default:
	// os.Executable().
	HookBinary string
	// MaxPushBytes bounds a request body after decompression (default DefaultMaxPushBytes).
	MaxPushBytes int64
	// Limits bounds the receive-pack head (refs per push, push options); zeros take
	// gitproto's defaults.
	Limits gitproto.ReceiveLimits
	// Logger is the transport's logger (default slog.Default()).
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.Git == nil && c.GitError != nil {
		return c, fmt.Errorf("this server cannot serve git: %w", c.GitError)
	}
	if c.Git == nil || c.Kit == nil {
		return c, fmt.Errorf("git transport: Config.Git and Config.Kit are required")
	}
	if !filepath.IsAbs(c.Dir) || !filepath.IsAbs(c.HooksDir) {
		return c, fmt.Errorf("git transport: Config.Dir %q and Config.HooksDir %q must be absolute paths", c.Dir, c.HooksDir)
	}
	if c.HookBinary == "" {
		exe, err := os.Executable()
		if err != nil {
			return c, fmt.Errorf("git transport: find the hook binary: %w (set Config.HookBinary)", err)
		}
		c.HookBinary = exe
	}
	if c.MaxPushBytes <= 0 {
		c.MaxPushBytes = DefaultMaxPushBytes
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}
