package pipelinespec

import "strings"

// Configuration keys of the built-in providers.
const (
	ConfigRepositoryName       = "RepositoryName"
	ConfigBranchName           = "BranchName"
	ConfigDetectChanges        = "DetectChanges"
	ConfigProjectName          = "ProjectName"
	ConfigEnvironmentVariables = "EnvironmentVariables"
	ConfigApplicationName      = "ApplicationName"
	ConfigDeploymentGroupName  = "DeploymentGroupName"
	ConfigCustomData           = "CustomData"
	ConfigExternalEntityLink   = "ExternalEntityLink"
	ConfigCommand              = "Command"
	ConfigLabels               = "Labels"
)

// providerSpec is what a built-in provider accepts.
type providerSpec struct {
	categories []string
	required   []string
	optional   []string
	// ignored are AWS's configuration keys that mean nothing here (a warning).
	ignored []string
	// minIn, maxIn, minOut and maxOut bound the artifact counts (AWS's: 5 inputs of a
	// CodeBuild action, 10 of a Commands action).
	minIn, maxIn, minOut, maxOut int
	// literal lists the keys that cannot hold #{...} references.
	literal []string
}

// builtins are the built-in providers by normalized name.
var builtins = map[string]providerSpec{
	ProviderRepo: {
		categories: []string{CategorySource},
		required:   []string{ConfigRepositoryName, ConfigBranchName},
		optional:   []string{ConfigDetectChanges},
		ignored:    []string{"PollForSourceChanges", "OutputArtifactFormat"},
		minIn:      0, maxIn: 0, minOut: 1, maxOut: 1,
		literal: []string{ConfigRepositoryName, ConfigBranchName, ConfigDetectChanges},
	},
	ProviderBuild: {
		categories: []string{CategoryBuild, CategoryTest},
		required:   []string{ConfigProjectName},
		optional:   []string{ConfigEnvironmentVariables},
		ignored:    []string{"PrimarySource", "BatchEnabled", "CombineArtifacts"},
		minIn:      1, maxIn: 5, minOut: 0, maxOut: 1,
	},
	ProviderDeploy: {
		categories: []string{CategoryDeploy},
		required:   []string{ConfigApplicationName, ConfigDeploymentGroupName},
		minIn:      1, maxIn: 1, minOut: 0, maxOut: 0,
	},
	ProviderManual: {
		categories: []string{CategoryApproval},
		optional:   []string{ConfigCustomData, ConfigExternalEntityLink},
		ignored:    []string{"NotificationArn"},
		minIn:      0, maxIn: 0, minOut: 0, maxOut: 0,
	},
	ProviderCommand: {
		categories: []string{CategoryInvoke},
		optional:   []string{ConfigCommand, ConfigLabels, ConfigProjectName},
		minIn:      0, maxIn: 10, minOut: 0, maxOut: 1,
	},
}

// awsProviders are AWS's provider names Parse normalizes.
var awsProviders = map[string]string{
	"CodeCommit": ProviderRepo,
	"CodeBuild":  ProviderBuild,
	"CodeDeploy": ProviderDeploy,
}

// categories lists the action categories.
var categories = []string{CategorySource, CategoryBuild, CategoryTest, CategoryDeploy, CategoryApproval, CategoryInvoke}

// providerNames lists every provider name accepted, for suggestions.
var providerNames = []string{ProviderRepo, ProviderBuild, ProviderDeploy, ProviderManual, ProviderCommand, "CodeCommit", "CodeBuild", "CodeDeploy"}

// NormalizeProvider answers the built-in name of a provider name (AWS's CodeCommit,
// CodeBuild and CodeDeploy are SlipwayRepo, SlipwayBuild and SlipwayDeploy), and whether it
// is one.
func NormalizeProvider(name string) (string, bool) {
	if n, ok := awsProviders[name]; ok {
		return n, true
	}
	_, ok := builtins[name]
	return name, ok
}

// providersOf answers the built-in providers of a category.
func providersOf(category string) []string {
	var out []string
	for _, name := range []string{ProviderRepo, ProviderBuild, ProviderDeploy, ProviderManual, ProviderCommand} {
		if contains(builtins[name].categories, category) {
			out = append(out, name)
		}
	}
	return out
}

// DetectsChanges reports whether a SlipwayRepo source action starts the pipeline on pushes to
// its branch when the pipeline has no triggers: unless its configuration says
// DetectChanges: false (AWS's key).
func (a Action) DetectsChanges() bool {
	return !strings.EqualFold(strings.TrimSpace(a.Configuration[ConfigDetectChanges]), "false")
}
