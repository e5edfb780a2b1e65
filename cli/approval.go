package cli

import (
	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

// `slipway approval approve|reject PIPELINE --execution ID --stage S --action A [--comment C]`:
// the answer to a pipeline's manual approval (codepipeline:PutApprovalResult).

func (c *cli) newApprovalCommand() *cobra.Command {
	cmd := nounCommand("approval", "Approve or reject a pipeline's manual approval",
		`  slipway approval approve web --execution 3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c --stage Approve --action Manual --comment "looks good"
  slipway approval reject web --execution 3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c --stage Approve --action Manual --comment "canary is red"`)
	cmd.AddCommand(c.newApprovalVerb(api.ApprovalApproved), c.newApprovalVerb(api.ApprovalRejected))
	return cmd
}

func (c *cli) newApprovalVerb(result string) *cobra.Command {
	var execution, stage, action, comment, token string
	verb, effect := "approve", "the action succeeds and the stage goes on"
	if result == api.ApprovalRejected {
		verb, effect = "reject", "the action fails, and with it the stage (its onFailure condition applies)"
	}
	cmd := &cobra.Command{
		Use:   verb + " PIPELINE --execution ID --stage S --action A [--comment C]",
		Short: "Answer " + result + " to a manual approval a pipeline waits for",
		Long: `Answers ` + result + ` to the manual approval action A of stage S of the execution: ` + effect + `.
It needs codepipeline:PutApprovalResult on the pipeline (CodePipelineApproverAccess). The comment
is kept with the execution. An approval that was already answered or timed out is refused.
'slipway pipeline execution PIPELINE ID' lists the approvals waiting.`,
		Example:           `  slipway approval ` + verb + ` web --execution 3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c --stage Approve --action Manual --comment "ok by QA"`,
		Args:              exactArgs("PIPELINE"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlags([2]string{"execution", execution}, [2]string{"stage", stage}, [2]string{"action", action}); err != nil {
				return err
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			e, err := cl.PipelineApproval(cmd.Context(), args[0], api.ApprovalResultRequest{
				Execution: execution, Stage: stage, Action: action, Status: result, Comment: comment, Token: token})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(e)
			}
			return p.Linef("%s %s/%s of execution %s of pipeline %s", result, stage, action, e.ID, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&execution, "execution", "", "the execution's ID (required)")
	f.StringVar(&stage, "stage", "", "the stage of the approval action (required)")
	f.StringVar(&action, "action", "", "the approval action (required)")
	f.StringVar(&comment, "comment", "", "a comment kept with the answer")
	f.StringVar(&token, "approval-token", "", "answer only this wait of the action (its approval token, as pipeline execution --output json shows it); default: the one it waits for now")
	return cmd
}
