package agentproto

// Builds (issue 20): work of KindBuild. The messages are the same envelopes as a deployment's
// (Run, Cancel, Ack, Event, Log), with Kind "build" and DeploymentID holding the build's ID
// (CodeBuild's PROJECT:UUID). An agent advertises KindBuild when it takes builds, and
// CapabilityDocker besides when its Docker engine answered at start (builds with an image need
// it). An agent runs one build at a time (CodeBuild runs a build per compute instance): the
// scheduler assigns a host at most one build in progress.
//
// # Run
//
// The server pushes BuildRun (type "run", kind "build") to the host the build is assigned to,
// on every session until the host reported the build's end. The agent then, in order:
//
//   - reports the phase DOWNLOAD_SOURCE started, downloads the source from any server with
//     GET Source.Path (host-authenticated as the bundle downloads; a tar of the commit's files,
//     `git archive`; absent for a build without source) and unpacks it into a fresh workspace,
//     refusing entries that leave it;
//   - reads the buildspec (Source.BuildspecInline, or the file Source.Buildspec in the source),
//     and fetches the values of the secret variables (the run's SECRETS_MANAGER and
//     PARAMETER_STORE variables and the buildspec's env secrets-manager / parameter-store) with
//     POST SecretsPath {"names": [...]}: the server reads them under the project's service role
//     and answers only while the build is in progress on this host. Values are masked in every
//     line the agent reports;
//   - when the buildspec has env git-credential-helper: yes, gets a role session of the
//     project's service role with POST GitCredentialPath (BuildGitCredential, same rules; the
//     server revokes it when the build ends) and has git use it for the servers' URLs;
//   - runs the buildspec with the builder (Docker executor when Image is set, else the process
//     executor), reporting each phase's start and end as Events and the output as Logs;
//   - uploads each artifact as a zip with PUT ArtifactsPath + "/" + name ("primary" or a
//     secondary artifact's identifier), which answers BuildArtifactUploaded; uploads are
//     content-addressed, so a retry stores nothing twice;
//   - reports the end: an Event with Event BuildEnd and Build holding the outcome.
//
// # Reports
//
// Event: Event is a phase name (DOWNLOAD_SOURCE, INSTALL, PRE_BUILD, BUILD, POST_BUILD,
// UPLOAD_ARTIFACTS, FINALIZING) or BuildEnd; Status is started, or succeeded / failed when the
// phase ends (skipped is not used); Result is CodeBuild's phase status (SUCCEEDED, FAILED,
// FAULT, TIMED_OUT, STOPPED, CLIENT_ERROR) and Message its context. For BuildEnd, Result is the
// build's status and Build the outcome. Log: Lines with Event set to the phase that printed them
// and Stream "stdout" (a build's output is one stream, as CodeBuild's). A cancel (stop) ends the
// build STOPPED; a build's own timeout TIMED_OUT.

import "time"

// KindBuild is the kind of a build's work.
const KindBuild = "build"

// CapabilityDocker is advertised beside KindBuild by an agent whose Docker engine answered: it
// can run builds whose environment names an image. It is a capability, not a kind of work.
const CapabilityDocker = "docker"

// BuildEnd is the Event.Event value that reports a build's end; Event.Build holds its outcome.
const BuildEnd = "BuildEnd"

// BuildRun is the body of a Run of KindBuild.
type BuildRun struct {
	Kind         string `json:"kind"`          // KindBuild
	DeploymentID string `json:"deployment_id"` // the build ID, PROJECT:UUID
	Project      string `json:"project"`
	Number       uint64 `json:"number"`
	Initiator    string `json:"initiator"`
	// SourceVersion is what the start asked for; ResolvedSourceVersion the commit.
	SourceVersion         string      `json:"source_version,omitempty"`
	ResolvedSourceVersion string      `json:"resolved_source_version,omitempty"`
	Source                BuildSource `json:"source"`
	// Image runs the build in Docker with that image; "" with the process executor.
	Image      string          `json:"image,omitempty"`
	Privileged bool            `json:"privileged,omitempty"`
	Variables  []BuildVariable `json:"variables,omitempty"`
	// SecretsPath and ArtifactsPath are URL paths on any server; ArtifactsPath is "" when the
	// project keeps no artifacts (NO_ARTIFACTS): the agent then uploads none.
	SecretsPath   string `json:"secrets_path"`
	ArtifactsPath string `json:"artifacts_path"`
	// GitCredentialPath is the URL path (POST, on any server) that issues the build a role
	// session of its project's service role for git (buildspec env git-credential-helper: yes),
	// answered with BuildGitCredential; "" from a server that issues none.
	GitCredentialPath string `json:"git_credential_path,omitempty"`
	TimeoutMinutes    int    `json:"timeout_minutes"`
	// ArtifactName is the project's primary artifact name ("" the buildspec's or none).
	ArtifactName string `json:"artifact_name,omitempty"`
	// Cache is the project's cache type: "LOCAL" keeps the buildspec's cache paths on the agent.
	Cache string `json:"cache,omitempty"`
	// StartTime is when the build was started (CODEBUILD_START_TIME).
	StartTime int64 `json:"start_time_ms"`
	// BatchIdentifier is the build's identifier in its batch build, "" for a build of its own
	// (CODEBUILD_BATCH_BUILD_IDENTIFIER).
	BatchIdentifier string `json:"batch_identifier,omitempty"`
}

// BuildSource is where a build's files and buildspec come from.
type BuildSource struct {
	Type       string `json:"type"` // SLIPWAY (a repository) or NO_SOURCE
	Repository string `json:"repository,omitempty"`
	// Path is the URL path of the source tar on any server ("" for NO_SOURCE).
	Path string `json:"path,omitempty"`
	// Buildspec is the buildspec's path in the source ("" buildspec.yml), unless BuildspecInline
	// holds its text.
	Buildspec       string `json:"buildspec,omitempty"`
	BuildspecInline string `json:"buildspec_inline,omitempty"`
}

// BuildVariable is one environment variable of a build: Type PLAINTEXT holds its value,
// SECRETS_MANAGER and PARAMETER_STORE a secret's name (fetched from SecretsPath).
type BuildVariable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Type  string `json:"type"`
}

// BuildSecretsRequest is the body of POST BuildRun.SecretsPath; BuildSecretsReply answers it
// with the value of each name (a secret's name, or NAME:json-key for a field of a JSON secret,
// as buildspec's secrets-manager references write it).
type BuildSecretsRequest struct {
	Names []string `json:"names"`
}

// BuildSecretsReply maps each requested name to its value.
type BuildSecretsReply struct {
	Values map[string]string `json:"values"`
}

// BuildGitCredential answers POST BuildRun.GitCredentialPath: Token is the secret of a role
// session of the build's service role (git's password for the cluster's /git/ URLs), valid
// until Expiration at the latest and revoked when the build ends; Accessor names it.
type BuildGitCredential struct {
	Token      string    `json:"token"`
	Accessor   string    `json:"accessor"`
	Role       string    `json:"role"`
	Expiration time.Time `json:"expiration"`
}

// BuildArtifactUploaded answers PUT ArtifactsPath/NAME: the blob the zip was stored as.
type BuildArtifactUploaded struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// BuildOutcome is what a build's end reports besides its status.
type BuildOutcome struct {
	Status            string            `json:"status"` // SUCCEEDED, FAILED, FAULT, STOPPED, TIMED_OUT
	ExportedVariables map[string]string `json:"exported_variables,omitempty"`
	Artifacts         []BuildArtifact   `json:"artifacts,omitempty"`
	Reports           []BuildReport     `json:"reports,omitempty"`
}

// BuildArtifact is an uploaded artifact: Identifier "" for the primary one.
type BuildArtifact struct {
	Identifier string `json:"identifier,omitempty"`
	Name       string `json:"name,omitempty"`
	SHA256     string `json:"sha256"`
	Size       int64  `json:"size"`
	Files      int    `json:"files"`
}

// BuildReport is one report group's report (JUnit XML or Cucumber JSON, read by the agent's
// builder), as builder/report.Report holds it: at most 500 cases, failures first.
type BuildReport struct {
	Name       string          `json:"name"`
	Format     string          `json:"format"` // JUNITXML or CUCUMBERJSON
	Status     string          `json:"status"` // SUCCEEDED, FAILED or INCOMPLETE
	Message    string          `json:"message,omitempty"`
	Total      int             `json:"total"`
	Counts     map[string]int  `json:"counts"` // by case status
	DurationNS int64           `json:"duration_ns"`
	Files      []string        `json:"files"`
	Cases      []BuildTestCase `json:"cases"`
	Truncated  bool            `json:"truncated,omitempty"`
}

// BuildTestCase is one test case of a report.
type BuildTestCase struct {
	Name       string `json:"name"`
	Prefix     string `json:"prefix,omitempty"`
	Suite      string `json:"suite,omitempty"`
	Status     string `json:"status"` // SUCCEEDED, FAILED, ERROR, SKIPPED, UNKNOWN
	DurationNS int64  `json:"duration_ns"`
	Message    string `json:"message,omitempty"`
	Output     string `json:"output,omitempty"`
	File       string `json:"file,omitempty"`
}
