// Package service is the slipway-agent command line and its life as an operating-system service
// (systemd, launchd and the Windows service manager, through github.com/kardianos/service).
//
//	slipway-agent install   write the config, install and enable the service, start it
//	slipway-agent uninstall stop and remove the service (--purge: also its config and data)
//	slipway-agent start | stop | status
//	slipway-agent run       run the agent in the foreground; what the service executes
//	slipway-agent version   (also --version)
//
// On Linux with systemd the unit is Slipway's own (systemd/slipway-agent.service), passed to
// the library as its SystemdScript; other platforms use the library's defaults.
//
// Exit codes: 0 success, 1 failure, 2 wrong command line, 78 (EX_CONFIG) invalid
// configuration. The unit lists 78 in RestartPreventExitStatus, so systemd does not
// restart-loop on a configuration that a restart cannot fix.
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/slipwayhq/slipway/agent"
	"github.com/slipwayhq/slipway/agent/config"
)

// Exit codes returned by Main.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
	ExitConfig  = 78 // EX_CONFIG from sysexits.h
)

// Name is the service's name: the systemd unit, launchd label and Windows service.
const Name = "slipway-agent"

// EnvConfig names the config file when --config is not given.
const EnvConfig = config.EnvPrefix + "CONFIG"

// Options are what Main needs from its surroundings. Zero values mean the process's own.
type Options struct {
	Stdout, Stderr io.Writer
	// Executable is the binary the installed service runs; "" means this process's executable.
	Executable string
	// RunAgent is what `run` calls; agent.Run when nil. Tests pass a fake.
	RunAgent func(ctx context.Context, cfg config.Config, log *slog.Logger) error
}

// Execute runs the slipway-agent command line with args (without the program name) and returns
// the process's exit code. Cancelling ctx (SIGINT, SIGTERM) stops a running agent.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return Main(ctx, args, Options{Stdout: stdout, Stderr: stderr})
}

// Main is Execute with every dependency explicit.
func Main(ctx context.Context, args []string, opts Options) int {
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.RunAgent == nil {
		opts.RunAgent = agent.Run
	}
	a := &app{opts: opts}
	root := a.rootCommand()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	msg, code := describe(err)
	if msg != "" {
		if code == ExitUsage && cmd != nil {
			msg += fmt.Sprintf(" (see '%s --help')", cmd.CommandPath())
		}
		_, _ = fmt.Fprintf(opts.Stderr, "Error: %s\n", msg)
	}
	return code
}

// describe picks the exit code for err and the one line to print ("" for none).
func describe(err error) (string, int) {
	var ee *exitError
	var ue *usageError
	var re *runtimeError
	switch {
	case errors.As(err, &ee):
		if ee.err == nil {
			return "", ee.code
		}
		return oneLine(ee.err.Error()), ee.code
	case errors.Is(err, config.ErrInvalid):
		return oneLine(err.Error()), ExitConfig
	case errors.As(err, &ue) || !errors.As(err, &re):
		// Errors that our own code did not return come from cobra parsing the command line.
		return oneLine(err.Error()), ExitUsage
	default:
		return oneLine(err.Error()), ExitFailure
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// usageError marks a wrong command line (exit 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return &usageError{fmt.Errorf(format, a...)} }

// runtimeError marks an error returned by a command's own code rather than by cobra.
type runtimeError struct{ err error }

func (e *runtimeError) Error() string { return e.err.Error() }
func (e *runtimeError) Unwrap() error { return e.err }

// exitError ends the process with code, printing err when it is not nil.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }
