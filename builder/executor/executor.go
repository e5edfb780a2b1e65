// Package executor is the contract between the build runner (package
// builder) and the places a build runs: the process executor here, the
// Docker executor in executor/docker, and the Kubernetes executor and
// executor plugins to come.
//
// The lifecycle of one build, as the runner drives it:
//
//	Prepare(source)             → Workspace: a clean copy of the source, where
//	                              the build's commands will run
//	Workspace.Start(shell, env) → Session: one shell reading commands on its
//	                              stdin; its stdout and stderr are one stream
//	  ... the runner writes commands and reads output, markers included ...
//	Session.Stop()              → every process of the session is killed
//	                              (Stop is idempotent; the runner calls it
//	                              when the session must end early, on Ctrl-C,
//	                              on the timeout)
//	Workspace.Export()          → a host directory holding the workspace's
//	                              files, for collecting artifacts and reports
//	Workspace.Close()           → every process left is killed, the workspace
//	                              is removed
//
// A workspace may start several sessions one after the other (buildspec 0.1
// runs a shell per command; a 0.2 session that a command ended with exit
// is restarted), never two at once. Contexts bound each call: a context
// cancelled during Start or Prepare undoes what the call did. An executor
// never interprets commands: the shell protocol (markers, exit statuses,
// the environment at the end) belongs to the runner, so every executor
// behaves alike.
package executor

import (
	"context"
	"io"
)

// Executor makes workspaces of one kind.
type Executor interface {
	// Name is what CODEBUILD_BUILD_IMAGE says for builds of this
	// executor: "process", or the image for Docker.
	Name() string
	// Prepare makes a workspace holding a copy of the source directory.
	Prepare(ctx context.Context, req PrepareRequest) (Workspace, error)
}

// PrepareRequest describes the workspace of one build.
type PrepareRequest struct {
	// BuildID names the workspace (for logs and the executor's own
	// bookkeeping).
	BuildID string
	// SourceDir is a host directory whose contents become the workspace's
	// source; "" for a build without source.
	SourceDir string
}

// Workspace is where one build's commands run.
type Workspace interface {
	// SrcDir is the source directory as the commands see it
	// (CODEBUILD_SRC_DIR).
	SrcDir() string
	// Start starts a shell session.
	Start(ctx context.Context, req StartRequest) (Session, error)
	// Export returns a host directory with the workspace's source files as
	// they are now (for the process and Docker executors, the workspace
	// itself; a Kubernetes executor copies them out).
	Export(ctx context.Context) (string, error)
	// Close kills every process the workspace still has and removes it.
	Close() error
}

// StartRequest describes one shell session.
type StartRequest struct {
	// Shell is the argv of a shell that reads commands on its stdin, such
	// as ["bash", "--noprofile", "--norc", "-s"].
	Shell []string
	// Env is the whole environment of the shell, as KEY=VALUE.
	Env []string
	// Dir is the working directory, inside the workspace; "" is SrcDir.
	Dir string
	// User is the user the shell runs as; "" is the executor's default.
	User string
}

// Session is one running shell.
type Session interface {
	// Stdin receives commands; closing it ends the shell after the last.
	Stdin() io.WriteCloser
	// Output is the shell's stdout and stderr, merged in order; it returns
	// io.EOF once the shell and everything holding its output have ended
	// or been killed.
	Output() io.Reader
	// Wait waits for the shell to end and returns its exit code (-1 when
	// it was killed by a signal).
	Wait() (int, error)
	// Stop kills every process of the session. It is safe to call more
	// than once and concurrently with Wait.
	Stop() error
}
