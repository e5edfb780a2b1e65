package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

// ExitDenied is the exit code of `iam simulate` when the simulated request would be denied
// (explicitly or implicitly); 0 means allowed, 1 that the simulation itself failed.
const ExitDenied = 4

// deniedError makes `iam simulate` exit ExitDenied after printing its answer.
type deniedError struct{ msg string }

func (e *deniedError) Error() string { return e.msg }
func (e *deniedError) ExitCode() int { return ExitDenied }

func (c *cli) newIAMSimulateCommand() *cobra.Command {
	var (
		req     api.SimulateRequest
		context []string
	)
	cmd := &cobra.Command{
		Use:   "simulate --principal P --action A --resource R [--context KEY=VALUE ...]",
		Short: "Show whether a principal may do an action on a resource, and which statement decides",
		Long: `Evaluate an action on a resource against a principal's policies without doing it, as the API
would, and name the deciding policy and statement (its index and Sid), like
'aws iam simulate-principal-policy'. The principal is user/NAME (as their personal token: own,
groups' and self-service policies), group/NAME (its policies alone), token/ACCESSOR (a service
token's, or a personal token's narrowed by its scope) or role/NAME. The resource is a full
name (srn:slipway:codedeploy:app/shop) or one relative to the action's service (app/shop).
--context sets condition keys (slipway:SourceIp=10.0.0.1, slipway:MultiFactorAuthPresent=true);
slipway:CurrentTime, slipway:PrincipalType, slipway:PrincipalName and
slipway:MultiFactorAuthEnrolled default to the principal's, slipway:MultiFactorAuthPresent to false.

Exit status: 0 allowed, 4 denied (explicitly or implicitly), 1 the simulation could not be
run (unknown principal, no permission), 2 wrong command line.`,
		Example: `  slipway iam simulate --principal user/alice --action codedeploy:GetApplication --resource srn:slipway:codedeploy:app/shop
  slipway iam simulate --principal group/deployers --action codedeploy:CreateDeployment --resource app/shop/group/prod --output json
  slipway iam simulate --principal user/alice --action codedeploy:DeleteApplication --resource app/shop --context slipway:MultiFactorAuthPresent=true`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, f := range []struct{ name, v string }{{"--principal", req.Principal}, {"--action", req.Action}, {"--resource", req.Resource}} {
				if strings.TrimSpace(f.v) == "" {
					return usagef("%s is required", f.name)
				}
			}
			if len(context) > 0 {
				req.Context = map[string]string{}
				for _, kv := range context {
					k, v, ok := strings.Cut(kv, "=")
					if !ok || k == "" {
						return usagef("--context %q must be KEY=VALUE, such as slipway:SourceIp=10.0.0.1", kv)
					}
					req.Context[k] = v
				}
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			res, err := cl.Simulate(cmd.Context(), req)
			if err != nil {
				return err
			}
			if p.json() {
				err = p.JSON(res)
			} else {
				err = p.Fields(simulateFields(res))
			}
			if err != nil {
				return err
			}
			if res.Decision != api.SimulateAllowed {
				return &deniedError{msg: fmt.Sprintf("%s: %s on %s for %s", strings.ReplaceAll(res.Decision, "_", " "), res.Action, res.Resource, req.Principal)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Principal, "principal", "", "user/NAME, group/NAME, token/ACCESSOR or role/NAME (required)")
	f.StringVar(&req.Action, "action", "", "the action, e.g. codedeploy:CreateDeployment (required)")
	f.StringVar(&req.Resource, "resource", "", "the resource, e.g. srn:slipway:codedeploy:app/shop (required)")
	f.StringArrayVar(&context, "context", nil, "a condition key and its value, KEY=VALUE (repeatable)")
	return cmd
}

// simulateFields is the table view of a simulation: the decision and, when a statement
// decided, which.
func simulateFields(r *api.SimulateResult) []field {
	fs := []field{{"Decision", r.Decision}, {"Action", r.Action}, {"Resource", r.Resource}}
	if r.Policy != "" {
		fs = append(fs, field{"Policy", r.Policy}, field{"Statement", fmt.Sprint(r.Statement)})
		if r.Sid != "" {
			fs = append(fs, field{"Sid", r.Sid})
		}
	} else {
		fs = append(fs, field{"Statement", "none: no statement allows it"})
	}
	return fs
}
