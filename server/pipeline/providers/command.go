package providers

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"

	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/build"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/pipeline"
)

// Configuration keys of a Command (Invoke) action. ProjectName (KeyProjectName) is optional.
const (
	KeyCommand = "Command" // one shell command, when the action has no commands list
	KeyLabels  = "Labels"  // "k=v,k2=v2": the agent's os, arch or tags
	// KeyOutputVariables names, comma-separated, the environment variables the commands
	// leave that become the action's output variables (CodePipeline's outputVariables).
	KeyOutputVariables = "OutputVariables"
)

// CommandsProject is the build project Command actions without a ProjectName run as: created
// by the provider on first use, without source (the input artifact is the build's), with a
// placeholder inline buildspec that every such build overrides, keeping no artifacts.
const CommandsProject = "pipeline-commands"

// commandsProjectSpec is CommandsProject's own buildspec; its builds never run it.
const commandsProjectSpec = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo this project runs the commands of pipeline actions\n"

// Command is the Command provider: the action's commands (its commands list, or its
// configuration's Command) run as a build (build.StartOptions.BuildspecOverride) of
// ProjectName, or of CommandsProject, on an agent matching Labels, with the first input
// artifact as the build's source. Its output variables are the build's exported variables
// (the variables OutputVariables names); the rest is as Build's: the build's ID is the run's
// ExternalID, its end the action's.
type Command struct{ build *Build }

var labelsRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._/-]{0,62}$`)

// parseLabels reads "k=v,k2=v2" (spaces around items allowed); "" is no labels (nil).
func parseLabels(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, item := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(item), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || !labelsRe.MatchString(k) || v == "" {
			return nil, fault.New(fault.Invalid, "configuration %s is not a list of key=value labels such as os=linux,arch=amd64 (at %q)", KeyLabels, clip(item, 64))
		}
		if _, dup := out[k]; dup {
			return nil, fault.New(fault.Invalid, "configuration %s names label %s twice", KeyLabels, k)
		}
		out[k] = v
	}
	return out, nil
}

// parseNames reads a comma-separated list of variable names.
func parseNames(s string) ([]string, error) {
	var out []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		if !varNameRe.MatchString(n) {
			return nil, fault.New(fault.Invalid, "configuration %s: %q is not a variable name", KeyOutputVariables, clip(n, 64))
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

var varNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// commandsOf are the run's commands: its commands list, else its Command configuration.
func commandsOf(commands []string, cfg map[string]string) []string {
	if len(commands) > 0 {
		return commands
	}
	if c := strings.TrimSpace(cfg[KeyCommand]); c != "" {
		return []string{cfg[KeyCommand]}
	}
	return nil
}

// commandsBuildspec is the buildspec that runs commands in its build phase and exports the
// named variables. Every value is written as a JSON string, which YAML reads as the same
// string whatever it holds.
func commandsBuildspec(commands, exported []string) string {
	var sb strings.Builder
	sb.WriteString("version: 0.2\n")
	if len(exported) > 0 {
		sb.WriteString("env:\n  exported-variables:\n")
		for _, n := range exported {
			sb.WriteString("    - " + quote(n) + "\n")
		}
	}
	sb.WriteString("phases:\n  build:\n    commands:\n")
	for _, c := range commands {
		sb.WriteString("      - " + quote(c) + "\n")
	}
	return sb.String()
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Start implements pipeline.Provider.
func (p *Command) Start(ctx context.Context, run pipeline.ActionRun) (pipeline.Result, error) {
	commands := commandsOf(run.Commands, run.Configuration)
	if len(commands) == 0 {
		return failed("", "", "a Command action needs commands (its commands list, or configuration %s)", KeyCommand), nil
	}
	labels, err := parseLabels(run.Configuration[KeyLabels])
	if err != nil {
		return failed("", "", "%v", err), nil
	}
	exported, err := parseNames(run.Configuration[KeyOutputVariables])
	if err != nil {
		return failed("", "", "%v", err), nil
	}
	project := run.Configuration[KeyProjectName]
	if project == "" {
		project = CommandsProject
		if err := p.ensureProject(ctx); err != nil {
			if final(err) {
				return failed("", "", "build project %s: %v", CommandsProject, err), nil
			}
			return pipeline.Result{}, err
		}
	}
	req := pub.BuildStartRequest{Project: project, TimeoutMinutesOverride: timeoutMinutes(run)}
	opts := build.StartOptions{SourceArtifact: sourceArtifact(run), BuildspecOverride: commandsBuildspec(commands, exported), Labels: labels}
	return p.build.start(ctx, run, req, opts)
}

// ensureProject creates CommandsProject unless it exists.
func (p *Command) ensureProject(ctx context.Context) error {
	projects := p.build.builds.Projects()
	if _, err := projects.Get(ctx, CommandsProject); fault.CodeOf(err) != fault.NotFound {
		return err
	}
	_, err := projects.Create(ctx, "codepipeline", pub.ProjectCreateRequest{
		Name: CommandsProject, Description: "The commands of pipelines' Command actions (created by the pipeline service)",
		Source:    pub.ProjectSource{Type: pub.SourceNone, BuildspecInline: commandsProjectSpec},
		Artifacts: pub.ProjectArtifacts{Type: pub.ArtifactsNone},
	})
	if fault.CodeOf(err) == fault.Conflict {
		return nil // created meanwhile
	}
	return err
}

// Poll implements pipeline.Provider.
func (p *Command) Poll(ctx context.Context, run pipeline.ActionRun, id string) (pipeline.Result, error) {
	return p.build.Poll(ctx, run, id)
}

// Stop implements pipeline.Provider.
func (p *Command) Stop(ctx context.Context, run pipeline.ActionRun, id string) error {
	return p.build.Stop(ctx, run, id)
}

// Needs implements pipeline.Checker: codebuild:StartBuild on the project the commands run as.
func (p *Command) Needs(a pipelinespec.Action) []pipeline.Need {
	project := a.Configuration[KeyProjectName]
	if project == "" {
		project = CommandsProject
	}
	return []pipeline.Need{{Action: ActionStartBuild, Resource: "project/" + resourcePart(project)}}
}

// Check implements pipeline.Checker: the action has commands, its Labels and OutputVariables
// read, and its ProjectName, when given, exists.
func (p *Command) Check(ctx context.Context, a pipelinespec.Action) error {
	if len(commandsOf(a.Commands, a.Configuration)) == 0 {
		return fault.New(fault.Invalid, "action %s: a Command action needs commands (its commands list, or configuration %s)", a.Name, KeyCommand)
	}
	if v := a.Configuration[KeyLabels]; !variable(v) {
		if _, err := parseLabels(v); err != nil {
			return fault.New(fault.Invalid, "action %s: %v", a.Name, err)
		}
	}
	if v := a.Configuration[KeyOutputVariables]; !variable(v) {
		if _, err := parseNames(v); err != nil {
			return fault.New(fault.Invalid, "action %s: %v", a.Name, err)
		}
	}
	if project := a.Configuration[KeyProjectName]; project != "" {
		return p.build.checkProject(ctx, a.Name, project)
	}
	return nil
}
