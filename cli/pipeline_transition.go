package cli

import (
	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

// `slipway pipeline transition enable|disable NAME --stage S [--reason R]`: a stage's inbound
// transition.

func (c *cli) newPipelineTransitionCommand() *cobra.Command {
	cmd := nounCommand("transition", "Enable or disable the transition into a stage",
		`  slipway pipeline transition disable web --stage Deploy --reason "release freeze"
  slipway pipeline transition enable web --stage Deploy`)
	cmd.AddCommand(c.newPipelineTransitionVerb(true), c.newPipelineTransitionVerb(false))
	return cmd
}

func (c *cli) newPipelineTransitionVerb(enable bool) *cobra.Command {
	var stage, reason string
	cmd := &cobra.Command{
		Use:   "disable NAME --stage S --reason R",
		Short: "Disable the transition into a stage: executions wait before it",
		Long: `Disables the stage's inbound transition: executions that reach it wait (in order) until it is
enabled again; those already in the stage go on. A reason is required; it is shown with the
pipeline and the waiting executions. The first stage's transition cannot be disabled.`,
		Example: `  slipway pipeline transition disable web --stage Deploy --reason "release freeze until Monday"`,
	}
	if enable {
		cmd.Use = "enable NAME --stage S [--reason R]"
		cmd.Short = "Enable the transition into a stage: waiting executions go on"
		cmd.Long = `Enables the stage's inbound transition again: the executions waiting for it enter the stage, in
the order they arrived (one at a time in SUPERSEDED and QUEUED modes).`
		cmd.Example = `  slipway pipeline transition enable web --stage Deploy`
	}
	cmd.Args = exactArgs("NAME")
	cmd.ValidArgsFunction = cobra.NoFileCompletions
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := requireFlags([2]string{"stage", stage}); err != nil {
			return err
		}
		if !enable {
			if err := requireFlags([2]string{"reason", reason}); err != nil {
				return usagef("--reason is required: say why executions must wait before %s", stage)
			}
		}
		cl, p, err := c.setup()
		if err != nil {
			return err
		}
		pl, err := cl.PipelineTransition(cmd.Context(), args[0], api.TransitionRequest{Stage: stage, Enabled: enable, Reason: reason})
		if err != nil {
			return err
		}
		if p.json() {
			return p.JSON(pl)
		}
		if enable {
			return p.Linef("Transition into %s of pipeline %s enabled", stage, args[0])
		}
		return p.Linef("Transition into %s of pipeline %s disabled: %s", stage, args[0], reason)
	}
	cmd.Flags().StringVar(&stage, "stage", "", "the stage whose inbound transition changes (required)")
	help := "why (shown with the pipeline)"
	if !enable {
		help += " (required)"
	}
	cmd.Flags().StringVar(&reason, "reason", "", help)
	return cmd
}
