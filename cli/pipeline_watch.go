package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

// `slipway pipeline watch NAME [--execution ID]` and `start --watch`: the stages and actions
// drawn from the pipeline's watch stream.

// pipelineExecutionFailed makes a watched execution that did not succeed exit ExitFailure.
type pipelineExecutionFailed struct{ pipeline, id, status string }

func (e *pipelineExecutionFailed) Error() string {
	return fmt.Sprintf("execution %s of pipeline %s ended %s: see slipway pipeline execution %s %s", e.id, e.pipeline, e.status, e.pipeline, e.id)
}
func (e *pipelineExecutionFailed) ExitCode() int { return ExitFailure }

// pipelineWatchLost makes a watch that lost every server exit ExitServersLost.
type pipelineWatchLost struct {
	name string
	err  error
}

func (e *pipelineWatchLost) Error() string {
	return fmt.Sprintf("%v. The pipeline goes on in the cluster; when a server is back: slipway pipeline watch %s", e.err, e.name)
}
func (e *pipelineWatchLost) Unwrap() error { return e.err }
func (e *pipelineWatchLost) ExitCode() int { return ExitServersLost }

func (c *cli) newPipelineWatchCommand() *cobra.Command {
	var execution string
	cmd := &cobra.Command{
		Use:   "watch NAME [--execution ID]",
		Short: "Draw a pipeline's stages and actions live",
		Long: `Draws the pipeline's newest execution (or --execution ID) stage by stage, each action with its
provider, status, duration, external ID and error, and redraws it at every change: in place on a
terminal, as one new block per change when the output is a pipe or a file. Disabled transitions
and why an execution waits are shown where they stop it. --output json prints each message of
the stream (the pipeline and its newest executions) as one JSON line.

With --execution it exits when that execution ends: 0 when it Succeeded, 1 otherwise. Without it
the watch goes on until Ctrl-C. A watch that loses its server goes on from another one; after
--reconnect-for without any it exits 3 (the pipeline goes on).`,
		Example: `  slipway pipeline watch web
  slipway pipeline watch web --execution 3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c
  slipway pipeline watch web --output json | jq .executions[0].status`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("execution") && strings.TrimSpace(execution) == "" {
				return usagef("--execution must not be empty")
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			return c.watchPipeline(cmd.Context(), cl, p, args[0], execution)
		},
	}
	cmd.Flags().StringVar(&execution, "execution", "", "watch this execution and exit when it ends (0: Succeeded, 1: otherwise)")
	addReconnectFlag(cmd, &c.reconnectFor)
	return cmd
}

// pipelineView draws blocks of text: on a terminal each block replaces the one before (the
// cursor moves back over it), elsewhere a block is printed only when it differs from the last.
type pipelineView struct {
	w     io.Writer
	live  bool
	lines int    // lines drawn last time, to move back over (live)
	last  string // the last block drawn
}

func (v *pipelineView) draw(lines []string) {
	block := strings.Join(lines, "\n") + "\n"
	if block == v.last {
		return
	}
	var b strings.Builder
	switch {
	case v.live && v.lines > 0:
		fmt.Fprintf(&b, "\x1b[%dA\x1b[J", v.lines)
	case !v.live && v.last != "":
		b.WriteString("\n")
	}
	b.WriteString(block)
	v.last, v.lines = block, len(lines)
	_, _ = io.WriteString(v.w, b.String())
}

// watchBlock is what the watch draws for a message: the execution followed (id), or without
// one the newest execution and a line for each other one the message holds.
func watchBlock(name string, pl *api.Pipeline, execs []api.PipelineExecution, target *api.PipelineExecution) []string {
	head := "Pipeline " + name
	if pl != nil {
		head += fmt.Sprintf(" (version %d, %s)", pl.Version, cell(pl.ExecutionMode))
	}
	lines := []string{head}
	switch {
	case target != nil:
		return append(lines, executionLines(pl, target)...)
	case len(execs) == 0:
		return append(lines, "  no execution yet")
	}
	lines = append(lines, executionLines(pl, &execs[0])...)
	for _, e := range execs[1:] {
		lines = append(lines, fmt.Sprintf("  also %s  %s  %s", e.ID, statusOrDash(e.Status), triggerText(e.Trigger)))
	}
	return lines
}

// watchPipeline follows a pipeline's watch stream, drawing as it changes. With id it ends when
// that execution has ended: nil when it Succeeded, a pipelineExecutionFailed otherwise; without
// it, when ctx ends (its error) or the server ends the stream (an error naming why).
func (c *cli) watchPipeline(ctx context.Context, cl *api.Client, p *printer, name, id string) error {
	view := &pipelineView{w: c.stdout, live: !p.json() && isTerminal(c.stdout)}
	var (
		pl      *api.Pipeline
		final   *api.PipelineExecution
		end     string
		callErr error
	)
	err := cl.PipelineWatch(ctx, name, func(m api.PipelineWatchMessage) bool {
		if m.Pipeline != nil {
			pl = m.Pipeline
		}
		if m.End != "" {
			end = m.End
		}
		var target *api.PipelineExecution
		if id != "" {
			if target, callErr = c.findExecution(ctx, cl, name, id, m.Executions); callErr != nil {
				return false
			}
		}
		if p.json() {
			if callErr = jsonLine(c.stdout, m); callErr != nil {
				return false
			}
		} else if m.End == "" || target != nil || len(m.Executions) > 0 {
			view.draw(watchBlock(name, pl, m.Executions, target))
		}
		if target != nil && executionEnded(target.Status) {
			final = target
			return false
		}
		return true
	})
	switch {
	case ctx.Err() != nil:
		_, _ = fmt.Fprintf(c.stderr, "Stopped watching. Pipeline %s goes on; watch it again with: slipway pipeline watch %s\n", name, name)
		return ctx.Err()
	case callErr != nil:
		return callErr
	case errors.Is(err, api.ErrServersLost):
		return &pipelineWatchLost{name: name, err: err}
	case err != nil:
		return err
	case final == nil && id != "":
		return fmt.Errorf("the watch of pipeline %s ended (%s) before execution %s did", name, endReason(end), id)
	case final == nil:
		return fmt.Errorf("the watch of pipeline %s ended: %s", name, endReason(end))
	}
	if !p.json() {
		_ = p.Linef("Execution %s %s", final.ID, final.Status)
	}
	if final.Status != api.PipelineSucceeded {
		return &pipelineExecutionFailed{pipeline: name, id: final.ID, status: final.Status}
	}
	return nil
}

func endReason(end string) string {
	if end == "" {
		return "the server closed it"
	}
	return end
}

// findExecution answers execution id from a message's executions, or when it is not among them
// (newer ones pushed it out, or the message carries none), from the API.
func (c *cli) findExecution(ctx context.Context, cl *api.Client, name, id string, execs []api.PipelineExecution) (*api.PipelineExecution, error) {
	for i := range execs {
		if execs[i].ID == id {
			return &execs[i], nil
		}
	}
	return cl.PipelineExecutionGet(ctx, name, id, nil)
}
