package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pipelinespec"
	"github.com/slipwayhq/slipway/pkg/api"
)

// `slipway pipeline ...`: definitions (create, update, get, list, delete, validate, webhook).
// Executions are in pipeline_exec.go, the live view in pipeline_watch.go, transitions in
// pipeline_transition.go.

func (c *cli) newPipelineCommand() *cobra.Command {
	cmd := nounCommand("pipeline", "Define pipelines (CodePipeline V2) and run, watch and control their executions",
		`  slipway pipeline validate pipeline.yml
  slipway pipeline create --file pipeline.yml
  slipway pipeline start web --var STAGE=prod --watch
  slipway pipeline watch web
  slipway pipeline history web --output json`)
	cmd.AddCommand(c.newPipelineCreateCommand(), c.newPipelineUpdateCommand(), c.newPipelineGetCommand(),
		c.newPipelineListCommand(), c.newPipelineDeleteCommand(), c.newPipelineValidateCommand(), c.newPipelineWebhookCommand())
	cmd.AddCommand(c.newPipelineStartCommand(), c.newPipelineStopCommand(), c.newPipelineRetryCommand(),
		c.newPipelineRollbackCommand(), c.newPipelineHistoryCommand(), c.newPipelineExecutionCommand())
	cmd.AddCommand(c.newPipelineWatchCommand(), c.newPipelineTransitionCommand())
	return cmd
}

// maxDefinitionSize is the largest definition a pipeline may have (the service's bound).
const maxDefinitionSize = 256 << 10

// readDefinition reads a definition file ("-": standard input), refusing what is not a regular
// file or is over the bound before reading it.
func readDefinition(path string, stdin io.Reader) ([]byte, error) {
	if path == "-" {
		data, err := io.ReadAll(io.LimitReader(stdin, maxDefinitionSize+1))
		if err != nil {
			return nil, fmt.Errorf("cannot read the definition from standard input: %w", err)
		}
		if len(data) > maxDefinitionSize {
			return nil, fmt.Errorf("the definition on standard input is more than the %d bytes (256 KiB) a pipeline may have", maxDefinitionSize)
		}
		return data, nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a file; give the path of a pipeline definition (YAML or JSON)", path)
	}
	if st.Size() > maxDefinitionSize {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d (256 KiB) a pipeline definition may have", path, st.Size(), maxDefinitionSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	return data, nil
}

// definitionFileName is how diagnostics name a definition read from path.
func definitionFileName(path string) string {
	if path == "-" {
		return "stdin"
	}
	return path
}

// invalidDefinition makes a command exit 1 after a definition's errors were printed.
type invalidDefinition struct {
	file   string
	errors int
}

func (e *invalidDefinition) Error() string {
	if e.errors == 0 {
		return fmt.Sprintf("the server refused %s: fix the errors above (slipway pipeline validate %s checks a file offline)", e.file, e.file)
	}
	return fmt.Sprintf("%s has %d error(s); fix them and validate again", e.file, e.errors)
}
func (e *invalidDefinition) ExitCode() int { return ExitFailure }

// explainRefusal prints the diagnostics of a definition the server refused (its message,
// one diagnostic a line) on stderr and answers an invalidDefinition; other errors are
// answered as they are.
func (c *cli) explainRefusal(err error, file string) error {
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code != api.CodeBadRequest || !strings.Contains(ae.Message, "\n") {
		return err
	}
	_, _ = fmt.Fprintln(c.stderr, strings.TrimRight(ae.Message, "\n"))
	return &invalidDefinition{file: file}
}

// printWarnings prints a stored definition's warnings on stderr, where they do not mix with
// the command's output.
func (c *cli) printWarnings(pl *api.Pipeline) {
	for _, w := range pl.Warnings {
		_, _ = fmt.Fprintln(c.stderr, w)
	}
}

// pipelineWrite is create and update: read the file, send it, print the warnings and the
// stored pipeline.
func (c *cli) pipelineWrite(cmd *cobra.Command, name, file string) error {
	if file == "" {
		return usagef("--file is required: the definition (YAML or JSON; - reads standard input)")
	}
	cl, p, err := c.setup()
	if err != nil {
		return err
	}
	data, err := readDefinition(file, cmd.InOrStdin())
	if err != nil {
		return err
	}
	req := api.PipelineRequest{Definition: string(data), File: definitionFileName(file)}
	var pl *api.Pipeline
	verb := "Created"
	if name == "" {
		pl, err = cl.PipelineCreate(cmd.Context(), req)
	} else {
		pl, err = cl.PipelineUpdate(cmd.Context(), name, req)
		verb = "Updated"
	}
	if err != nil {
		return c.explainRefusal(err, req.File)
	}
	c.printWarnings(pl)
	if p.json() {
		return p.JSON(pl)
	}
	return p.Linef("%s pipeline %s (version %d)", verb, pl.Name, pl.Version)
}

func (c *cli) newPipelineCreateCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "create --file FILE",
		Short: "Create a pipeline from a definition file",
		Long: `Creates a pipeline from a definition in AWS's create-pipeline shape, YAML or JSON, with or without
the top-level "pipeline:" wrapper (the output of 'aws codepipeline get-pipeline' moves over). The
server validates it first: a definition with errors is refused and its diagnostics are printed
as path:line:col: message, exit 1. Warnings (AWS keys that mean nothing here, ...) are printed on
stderr and do not refuse it. docs/PIPELINE_DEFINITION.md describes the file.`,
		Example: `  slipway pipeline create --file pipeline.yml
  aws codepipeline get-pipeline --name web | slipway pipeline create --file -
  slipway pipeline create --file pipeline.json --output json`,
		Args:              exactArgs(),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.pipelineWrite(cmd, "", file)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the definition file, YAML or JSON (- reads standard input)")
	return cmd
}

func (c *cli) newPipelineUpdateCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "update NAME --file FILE",
		Short: "Replace a pipeline's definition with a new version",
		Long: `Replaces the pipeline's definition with the file's: the pipeline's version goes up by one.
Executions in progress go on with the version they started with; new ones take the new version.
The name in the file, when it has one, must be NAME. Errors and warnings are printed as for create.`,
		Example: `  slipway pipeline update web --file pipeline.yml
  slipway pipeline update web --file - < pipeline.json`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.pipelineWrite(cmd, args[0], file)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the definition file, YAML or JSON (- reads standard input)")
	return cmd
}

func (c *cli) newPipelineGetCommand() *cobra.Command {
	var consistent bool
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a pipeline: its version, stages and actions",
		Long: `Shows the pipeline's current version, execution mode and webhook, then each stage's actions with
their category, provider, run order and artifacts, and the stages whose inbound transition is
disabled (and why). --output json prints the pipeline as the API has it, its definition in AWS's
shape.`,
		Example: `  slipway pipeline get web
  slipway pipeline get web --output json`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			pl, err := cl.PipelineGet(cmd.Context(), args[0], &api.QueryOptions{Consistent: consistent})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(pl)
			}
			return printPipeline(p, pl)
		},
	}
	addConsistentFlag(cmd, &consistent)
	return cmd
}

// pipelineDefinition decodes a stored pipeline's definition (AWS's JSON); a definition this
// CLI cannot read gives an empty one, so the rest is still shown.
func pipelineDefinition(pl *api.Pipeline) pipelinespec.Pipeline {
	var def pipelinespec.Pipeline
	if len(pl.Definition) > 0 {
		_ = json.Unmarshal(pl.Definition, &def)
	}
	return def
}

// printPipeline is get's table view.
func printPipeline(p *printer, pl *api.Pipeline) error {
	def := pipelineDefinition(pl)
	fields := []field{{"Name", pl.Name}, {"Version", strconv.Itoa(pl.Version)}, {"Execution mode", cell(pl.ExecutionMode)},
		{"Webhook", yesNo(pl.Webhook)}, {"Created", formatTime(pl.CreateTime)}, {"Modified", formatTime(pl.ModifyTime)}}
	if pl.CreatedBy != "" {
		fields = append(fields, field{"Created by", pl.CreatedBy})
	}
	if len(def.Variables) > 0 {
		vars := make([]string, 0, len(def.Variables))
		for _, v := range def.Variables {
			vars = append(vars, v.Name+"="+v.DefaultValue)
		}
		fields = append(fields, field{"Variables", strings.Join(vars, ", ")})
	}
	if err := p.Fields(fields); err != nil {
		return err
	}
	if err := p.Linef(""); err != nil {
		return err
	}
	var rows [][]string
	for _, st := range def.Stages {
		for _, a := range st.Actions {
			rows = append(rows, []string{st.Name, a.Name, a.ActionTypeID.Category, a.ActionTypeID.Provider, strconv.Itoa(max(a.RunOrder, 1)),
				cell(artifactNames(a.InputArtifacts)), cell(artifactNames(a.OutputArtifacts)), cell(a.Namespace)})
		}
	}
	if err := p.Table([]string{"STAGE", "ACTION", "CATEGORY", "PROVIDER", "RUN ORDER", "INPUTS", "OUTPUTS", "NAMESPACE"}, rows); err != nil {
		return err
	}
	for _, st := range def.Stages {
		if tr, ok := pl.Transitions[st.Name]; ok {
			by := ""
			if tr.By != "" {
				by = " by " + tr.By
			}
			if err := p.Linef("Transition into %s disabled%s at %s: %s", st.Name, by, formatTime(tr.Time), cell(tr.Reason)); err != nil {
				return err
			}
		}
	}
	return nil
}

func artifactNames(refs []pipelinespec.ArtifactRef) string {
	names := make([]string, 0, len(refs))
	for _, r := range refs {
		names = append(names, r.Name)
	}
	return strings.Join(names, ",")
}

func (c *cli) newPipelineListCommand() *cobra.Command {
	var consistent bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List pipelines and their latest execution",
		Long:  `Lists every pipeline in name order with its version, execution mode and latest execution.`,
		Example: `  slipway pipeline list
  slipway pipeline list --output json`,
		Args:              exactArgs(),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			items, err := allPages(cmd.Context(), func(next string) ([]api.PipelineSummary, string, error) {
				l, err := cl.PipelineList(cmd.Context(), &api.QueryOptions{Consistent: consistent, Next: next})
				if err != nil {
					return nil, "", err
				}
				return l.Pipelines, l.Next, nil
			})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(items)
			}
			rows := make([][]string, 0, len(items))
			for _, s := range items {
				rows = append(rows, []string{s.Name, strconv.Itoa(s.Version), cell(s.ExecutionMode), cell(s.LatestStatus), cell(s.LatestExecution), formatTime(s.ModifyTime)})
			}
			return p.Table([]string{"NAME", "VERSION", "MODE", "LATEST", "EXECUTION", "MODIFIED"}, rows)
		},
	}
	addConsistentFlag(cmd, &consistent)
	return cmd
}

func (c *cli) newPipelineDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a pipeline and its executions' records",
		Long: `Deletes the pipeline, its versions and the records of its executions. A pipeline with an
execution in progress is not deleted: stop it first (slipway pipeline stop NAME --execution ID).`,
		Example:           `  slipway pipeline delete web`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if err := cl.PipelineDelete(cmd.Context(), args[0]); err != nil {
				return err
			}
			return p.Linef("Deleted pipeline %s", args[0])
		},
	}
}

// pipelineSpecReport is the JSON output of `slipway pipeline validate`.
type pipelineSpecReport struct {
	Path        string                   `json:"path"`
	Valid       bool                     `json:"valid"`
	Diagnostics pipelinespec.Diagnostics `json:"diagnostics"`
}

func (c *cli) newPipelineValidateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE",
		Short: "Validate a pipeline definition offline",
		Long: `Validates a definition file as the server does before storing it, without a server: its structure,
providers and their configuration, artifacts (each input produced by an earlier action), variable
references and namespaces, triggers and bounds. Each problem is printed as path:line:col: message;
warnings say "warning:" and do not make the file invalid. FILE - reads standard input.

Exit code 0 means valid (warnings may be printed), 1 invalid, 2 a wrong command line.`,
		Example: `  slipway pipeline validate pipeline.yml
  slipway pipeline validate pipeline.json --output json`,
		Args: exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := c.printer()
			if err != nil {
				return err
			}
			data, err := readDefinition(args[0], cmd.InOrStdin())
			if err != nil {
				return err
			}
			file := definitionFileName(args[0])
			_, diags := pipelinespec.Parse(file, data)
			errs := len(diags.Errors())
			if p.json() {
				if diags == nil {
					diags = pipelinespec.Diagnostics{}
				}
				if err := p.JSON(pipelineSpecReport{Path: file, Valid: errs == 0, Diagnostics: diags}); err != nil {
					return err
				}
			} else {
				for _, line := range diags.Strings() {
					if err := p.Linef("%s", line); err != nil {
						return err
					}
				}
				if errs == 0 {
					if err := p.Linef("%s is valid", file); err != nil {
						return err
					}
				}
			}
			if errs > 0 {
				return &invalidDefinition{file: file, errors: errs}
			}
			return nil
		},
	}
}

func (c *cli) newPipelineWebhookCommand() *cobra.Command {
	cmd := nounCommand("webhook", "Set up a pipeline's signed webhook start",
		`  slipway pipeline webhook set web --secret "$WEBHOOK_SECRET"`)
	cmd.AddCommand(c.newPipelineWebhookSetCommand())
	return cmd
}

func (c *cli) newPipelineWebhookSetCommand() *cobra.Command {
	var secret string
	cmd := &cobra.Command{
		Use:   "set NAME --secret S",
		Short: "Set up (or replace) a pipeline's webhook start",
		Long: `Sets up the pipeline's webhook start with a secret (16 to 256 characters), replacing any earlier
one; the secret is sealed and never shown again. A caller starts the pipeline with
POST /v1/pipelines/NAME/webhook/start (no token): the header X-Slipway-Signature-256 carries
sha256=HEX, the HMAC-SHA256 of the body with the secret, and X-Slipway-Timestamp a time within
5 minutes of the server's. docs/PIPELINES.md shows a signed call.`,
		Example: `  slipway pipeline webhook set web --secret "$(openssl rand -hex 32)"`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(secret) == "" {
				return usagef("--secret is required: the shared secret the webhook's caller signs with")
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			pl, err := cl.PipelineWebhookSet(cmd.Context(), args[0], api.PipelineWebhookRequest{Secret: secret})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(pl)
			}
			return p.Linef("Webhook of pipeline %s set: POST /v1/pipelines/%s/webhook/start", pl.Name, pl.Name)
		},
	}
	cmd.Flags().StringVar(&secret, "secret", "", "the secret the caller signs the body with (HMAC-SHA256) (required)")
	return cmd
}
