package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	kservice "github.com/kardianos/service"
	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/agent/config"
)

// stopGrace is how long Stop waits for the agent to return after its context is cancelled. It
// is shorter than the unit's TimeoutStopSec so the agent, not systemd, decides how it ends.
const stopGrace = 20 * time.Second

func (a *app) runCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the agent in the foreground (what the service executes)",
		Long: `run starts the agent and keeps it running until it is interrupted (SIGINT, SIGTERM) or
the service manager stops it.

Settings: built-in defaults, then the config file, then SLIPWAY_AGENT_* environment variables,
then flags. The default config file is optional: without it, flags and environment suffice.
An invalid configuration exits with status 78, which the systemd unit does not restart.`,
		Example: `  slipway-agent run --server http://127.0.0.1:7400 --registration-token T --data-dir /tmp/slipway-agent
  slipway-agent run --config /etc/slipway/agent.yaml --log-level debug`,
		Args: noArgs,
	}
	cf := bindConfigFlag(cmd.Flags())
	flags := config.BindFlags(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return a.run(cmd.Context(), cf, flags)
	}
	return cmd
}

func (a *app) run(ctx context.Context, cf *configFlag, flags *config.Flags) error {
	cfg, file, err := loadRunConfig(cf, flags)
	if err != nil {
		return err
	}
	base := newLogger(a.opts.Stderr, cfg.LogLevel)
	// The agent names its own components' loggers; this one is the service wrapper's.
	log := base.With("component", "service")
	shown := file
	if shown == "" {
		shown = "(none)"
	}
	log.Info("starting", "version", versionString(), "name", cfg.Name, "servers", cfg.Servers, "config", shown, "data_dir", cfg.DataDir)
	warnReadableSecret(log, file, cfg)

	prog := &program{parent: ctx, run: func(ctx context.Context) error { return a.opts.RunAgent(ctx, cfg, base) }, log: log}
	if kservice.Interactive() {
		err = prog.foreground()
	} else {
		// Under a service manager: the library speaks its protocol (the Windows service control
		// manager needs one) and calls Start and Stop. RunWait replaces the library's own signal
		// wait so that the agent ending by itself also ends Run.
		var svc kservice.Service
		svc, err = kservice.New(prog, a.serviceConfig(file, prog.wait))
		if err == nil {
			err = svc.Run()
		} else {
			err = prog.foreground()
		}
		if err == nil {
			err = prog.result()
		}
	}
	if err != nil {
		log.Error("stopped", "err", err)
		return fmt.Errorf("agent: %w", err)
	}
	log.Info("stopped")
	return nil
}

// program runs the agent between Start and Stop (the library's service.Interface).
type program struct {
	parent context.Context
	run    func(ctx context.Context) error
	log    *slog.Logger

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// Start launches the agent and returns at once, as the service manager expects.
func (p *program) Start(kservice.Service) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	ctx, cancel := context.WithCancel(p.parent)
	p.cancel, p.done = cancel, make(chan struct{})
	go func() {
		err := p.run(ctx)
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	return nil
}

// Stop cancels the agent and waits up to stopGrace for it to return.
func (p *program) Stop(kservice.Service) error {
	p.mu.Lock()
	cancel, done := p.cancel, p.done
	p.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-time.After(stopGrace):
		p.log.Warn("agent did not stop in time", "grace", stopGrace)
		return errors.New("agent did not stop within " + stopGrace.String())
	}
}

// wait returns when the parent context ends (a signal) or the agent returns by itself.
func (p *program) wait() {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-p.parent.Done():
	case <-done:
	}
}

// foreground runs the agent in this process until it returns or the parent context ends.
func (p *program) foreground() error {
	if err := p.Start(nil); err != nil {
		return err
	}
	p.wait()
	if err := p.Stop(nil); err != nil {
		return err
	}
	return p.result()
}

// result is the agent's own error once it has returned. A cancellation the parent asked for
// is a clean stop.
func (p *program) result() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
	default:
		return errors.New("agent still running")
	}
	if p.err != nil && errors.Is(p.err, context.Canceled) && p.parent.Err() != nil {
		return nil
	}
	return p.err
}

// warnReadableSecret warns when the config file holds the registration token and other users
// may read it.
func warnReadableSecret(log *slog.Logger, file string, cfg config.Config) {
	if file == "" || goos == "windows" || cfg.RegistrationToken == "" || cfg.RegistrationTokenFile != "" {
		return
	}
	if fi, err := os.Stat(file); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("the config file holds the registration token and others can read it; chmod 600 it",
			"config", file, "mode", fi.Mode().Perm().String())
	}
}

// newLogger is the agent's slog logger at level (debug, info, warn, error).
func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
