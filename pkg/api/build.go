package api

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// The values of the build service's enumerations, spelled as CodeBuild spells them.
const (
	SourceSlipwayRepo = "SLIPWAY_REPO" // a repository of the git service
	SourceNone        = "NO_SOURCE"    // no source: the buildspec is inline

	VariablePlaintext      = "PLAINTEXT"       // the value is the variable's value
	VariableSecretsManager = "SECRETS_MANAGER" // the value names a secret of the secrets store

	ArtifactsNone = "NO_ARTIFACTS"
	ArtifactsBlob = "BLOB" // the primary artifact kept in the cluster's blob store

	CacheNone  = "NO_CACHE"
	CacheLocal = "LOCAL" // kept on the worker that ran the build

	BuildQueued     = "QUEUED"
	BuildInProgress = "IN_PROGRESS"
	BuildSucceeded  = "SUCCEEDED"
	BuildFailed     = "FAILED"
	BuildFault      = "FAULT"
	BuildStopped    = "STOPPED"
	BuildTimedOut   = "TIMED_OUT"
)

// BuildProject is a build project (CodeBuild's): where its builds take their source and
// buildspec from, the environment they run in, and their limits. A build copies the project's
// settings when it starts: changing the project changes later builds only.
type BuildProject struct {
	Name        string        `json:"name"`
	Description string        `json:"description,omitempty"`
	Source      ProjectSource `json:"source"`
	// SourceVersion is the version a build takes when it names none: a branch, a tag or a
	// commit ID ("": the repository's default branch).
	SourceVersion        string           `json:"source_version,omitempty"`
	Environment          BuildEnvironment `json:"environment"`
	TimeoutMinutes       int              `json:"timeout_minutes"`
	QueuedTimeoutMinutes int              `json:"queued_timeout_minutes"`
	// ConcurrentBuildLimit is how many of the project's builds may run at once (0: no limit
	// of the project's own).
	ConcurrentBuildLimit int              `json:"concurrent_build_limit,omitempty"`
	Artifacts            ProjectArtifacts `json:"artifacts"`
	Cache                ProjectCache     `json:"cache"`
	// ServiceRole is the identity service's role whose policies bound what the project's builds
	// may read (secrets, repositories).
	ServiceRole string    `json:"service_role,omitempty"`
	CreatedBy   string    `json:"created_by,omitempty"`
	CreateIndex uint64    `json:"create_index"`
	ModifyIndex uint64    `json:"modify_index"`
	CreateTime  time.Time `json:"create_time"`
	ModifyTime  time.Time `json:"modify_time"`
}

// ProjectSource is where a project's builds get their files. Type is SLIPWAY_REPO (Repository
// names a repository of the git service) or NO_SOURCE. Buildspec is the buildspec's path in the
// source ("": buildspec.yml); BuildspecInline is the buildspec's text itself instead (required
// with NO_SOURCE).
type ProjectSource struct {
	Type            string `json:"type"`
	Repository      string `json:"repository,omitempty"`
	Buildspec       string `json:"buildspec,omitempty"`
	BuildspecInline string `json:"buildspec_inline,omitempty"`
}

// BuildEnvironment is what a build runs in: Image, a Docker image ("" runs the commands as
// processes on the worker), Labels a worker must carry (os, arch, docker, ...), Privileged for
// Docker's privileged mode, and the environment variables its commands get.
type BuildEnvironment struct {
	Image      string                `json:"image,omitempty"`
	Labels     map[string]string     `json:"labels,omitempty"`
	Privileged bool                  `json:"privileged,omitempty"`
	Variables  []EnvironmentVariable `json:"variables,omitempty"`
}

// EnvironmentVariable is one variable of a build's environment. With Type SECRETS_MANAGER,
// Value is the name of a secret, read by the worker under the project's service role when the
// build runs: records never hold a secret's value. Type "" is PLAINTEXT.
type EnvironmentVariable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Type  string `json:"type,omitempty"`
}

// ProjectArtifacts says what becomes of a build's primary artifact: NO_ARTIFACTS, or BLOB (kept
// in the cluster's blob store, under Name when set).
type ProjectArtifacts struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
}

// ProjectCache is the build cache: NO_CACHE or LOCAL (on the worker).
type ProjectCache struct {
	Type string `json:"type"`
}

// ProjectCreateRequest is the body of POST /v1/build-projects. Unset fields take CodeBuild's
// defaults: timeout 60 minutes, queued timeout 480, no artifacts, no cache, the buildspec at
// buildspec.yml of the source.
type ProjectCreateRequest struct {
	Name                 string           `json:"name"`
	Description          string           `json:"description,omitempty"`
	Source               ProjectSource    `json:"source"`
	SourceVersion        string           `json:"source_version,omitempty"`
	Environment          BuildEnvironment `json:"environment"`
	TimeoutMinutes       int              `json:"timeout_minutes,omitempty"`
	QueuedTimeoutMinutes int              `json:"queued_timeout_minutes,omitempty"`
	ConcurrentBuildLimit int              `json:"concurrent_build_limit,omitempty"`
	Artifacts            ProjectArtifacts `json:"artifacts"`
	Cache                ProjectCache     `json:"cache"`
	ServiceRole          string           `json:"service_role,omitempty"`
}

// ProjectUpdateRequest is the body of PATCH /v1/build-projects/{name}: each field set replaces
// the project's (a nil one leaves it). ConcurrentBuildLimit 0 removes the limit.
type ProjectUpdateRequest struct {
	Description          *string           `json:"description,omitempty"`
	Source               *ProjectSource    `json:"source,omitempty"`
	SourceVersion        *string           `json:"source_version,omitempty"`
	Environment          *BuildEnvironment `json:"environment,omitempty"`
	TimeoutMinutes       *int              `json:"timeout_minutes,omitempty"`
	QueuedTimeoutMinutes *int              `json:"queued_timeout_minutes,omitempty"`
	ConcurrentBuildLimit *int              `json:"concurrent_build_limit,omitempty"`
	Artifacts            *ProjectArtifacts `json:"artifacts,omitempty"`
	Cache                *ProjectCache     `json:"cache,omitempty"`
	ServiceRole          *string           `json:"service_role,omitempty"`
}

// ProjectList is the answer of GET /v1/build-projects: projects in name order; Next continues it.
type ProjectList struct {
	Projects []BuildProject `json:"projects"`
	Next     string         `json:"next,omitempty"`
}

// Build is one build (CodeBuild's): ID "PROJECT:UUID", BuildNumber counting the project's
// builds from 1, Status one of QUEUED, IN_PROGRESS, SUCCEEDED, FAILED, FAULT, STOPPED and
// TIMED_OUT. SourceVersion is the version asked for ("" when the project's was taken),
// ResolvedSourceVersion the commit it named when the build started. Source, Environment and the
// timeouts are the project's as they were then, with the start's overrides. Phases are in the
// order they happened (SUBMITTED, QUEUED, ... COMPLETED), the last one the current one.
// Artifacts and ExportedVariables are filled when the build ends; both are always present.
type Build struct {
	ID                    string           `json:"id"`
	Project               string           `json:"project"`
	BuildNumber           uint64           `json:"build_number"`
	Status                string           `json:"status"`
	CurrentPhase          string           `json:"current_phase"`
	Initiator             string           `json:"initiator"`
	SourceVersion         string           `json:"source_version,omitempty"`
	ResolvedSourceVersion string           `json:"resolved_source_version,omitempty"`
	Source                ProjectSource    `json:"source"`
	Environment           BuildEnvironment `json:"environment"`
	TimeoutMinutes        int              `json:"timeout_minutes"`
	QueuedTimeoutMinutes  int              `json:"queued_timeout_minutes"`
	ServiceRole           string           `json:"service_role,omitempty"`
	StartTime             time.Time        `json:"start_time"`
	EndTime               *time.Time       `json:"end_time,omitempty"`
	Phases                []BuildPhase     `json:"phases"`
	// StopRequested: a stop was asked while the build ran; its worker ends it.
	StopRequested     bool              `json:"stop_requested,omitempty"`
	Artifacts         []BuildArtifact   `json:"artifacts"`
	ExportedVariables map[string]string `json:"exported_variables"`
	// Reports summarises the build's report groups (GET /v1/builds/{id}/reports has the cases).
	Reports []BuildReportSummary `json:"reports"`
	// The log: LogLines lines so far (numbered from 1), LogBytes their text; LogTruncated once
	// the log reached its limit. LogBlob is set once the ended build's log was assembled into
	// one blob (GET /v1/builds/{id}/logs reads either).
	LogLines     uint64 `json:"log_lines"`
	LogBytes     int64  `json:"log_bytes"`
	LogTruncated bool   `json:"log_truncated,omitempty"`
	LogBlob      string `json:"log_blob,omitempty"`
	LogBlobSize  int64  `json:"log_blob_size,omitempty"`
	CreateIndex  uint64 `json:"create_index"`
	ModifyIndex  uint64 `json:"modify_index"`
	// A child of a batch build: its batch's ID and its identifier in the batch
	// (CODEBUILD_BATCH_BUILD_IDENTIFIER).
	BuildBatchID    string `json:"build_batch_id,omitempty"`
	BatchIdentifier string `json:"batch_identifier,omitempty"`
}

// BuildPhase is one phase of a build, as `slipway build local` reports phases: Status is ""
// while the phase runs; Message says why it did not succeed.
type BuildPhase struct {
	Name       string     `json:"name"`
	Status     string     `json:"status,omitempty"`
	StartTime  time.Time  `json:"start_time"`
	EndTime    *time.Time `json:"end_time,omitempty"`
	DurationMS int64      `json:"duration_ms"`
	Message    string     `json:"message,omitempty"`
}

// BuildArtifact is an artifact a build kept: Identifier "" for the primary one, Blob the
// SHA-256 of its archive in the blob store.
type BuildArtifact struct {
	Identifier string `json:"identifier,omitempty"`
	Name       string `json:"name,omitempty"`
	Blob       string `json:"blob"`
	Size       int64  `json:"size"`
}

// BuildStartRequest is the body of POST /v1/builds: a build of Project at SourceVersion (a
// branch, tag or commit ID; "": the project's). EnvironmentVariablesOverride adds variables or
// replaces the project's of the same name; the timeout overrides (0: the project's) are in
// minutes.
type BuildStartRequest struct {
	Project                      string                `json:"project"`
	SourceVersion                string                `json:"source_version,omitempty"`
	EnvironmentVariablesOverride []EnvironmentVariable `json:"environment_variables_override,omitempty"`
	TimeoutMinutesOverride       int                   `json:"timeout_minutes_override,omitempty"`
	QueuedTimeoutMinutesOverride int                   `json:"queued_timeout_minutes_override,omitempty"`
}

// BuildList is the answer of the build lists: newest first; Next continues it.
type BuildList struct {
	Builds []Build `json:"builds"`
	Next   string  `json:"next,omitempty"`
}

func projectPath(name string) string { return "/v1/build-projects/" + url.PathEscape(name) }

func buildPath(id string) string { return "/v1/builds/" + url.PathEscape(id) }

// ProjectCreate creates a build project; a name in use is a conflict (IsConflict), an inline
// buildspec with errors is refused with its diagnostics.
func (c *Client) ProjectCreate(ctx context.Context, req ProjectCreateRequest) (*BuildProject, error) {
	var p BuildProject
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/build-projects", in: req, out: &p})
	return &p, err
}

// ProjectGet returns a build project (BatchGetProjects); an unknown name is not_found.
func (c *Client) ProjectGet(ctx context.Context, name string, q *QueryOptions) (*BuildProject, error) {
	var p BuildProject
	err := c.do(ctx, request{method: http.MethodGet, path: projectPath(name), query: q.values(), out: &p})
	return &p, err
}

// ProjectList lists a page of the build projects, in name order.
func (c *Client) ProjectList(ctx context.Context, q *QueryOptions) (*ProjectList, error) {
	var l ProjectList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/build-projects", query: q.values(), out: &l})
	return &l, err
}

// ProjectUpdate changes the fields of a build project that req sets and answers it as changed.
func (c *Client) ProjectUpdate(ctx context.Context, name string, req ProjectUpdateRequest) (*BuildProject, error) {
	var p BuildProject
	err := c.do(ctx, request{method: http.MethodPatch, path: projectPath(name), in: req, out: &p})
	return &p, err
}

// ProjectDelete deletes a build project and its builds' records; a project with builds queued
// or running is a conflict (stop them first).
func (c *Client) ProjectDelete(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: projectPath(name)})
}

// BuildStart starts a build: it answers the build as recorded, QUEUED, with its ID, number and
// resolved commit.
func (c *Client) BuildStart(ctx context.Context, req BuildStartRequest) (*Build, error) {
	var b Build
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/builds", in: req, out: &b})
	return &b, err
}

// BuildGet returns a build (BatchGetBuilds); an unknown ID is not_found.
func (c *Client) BuildGet(ctx context.Context, id string, q *QueryOptions) (*Build, error) {
	var b Build
	err := c.do(ctx, request{method: http.MethodGet, path: buildPath(id), query: q.values(), out: &b})
	return &b, err
}

// BuildList lists a page of the cluster's builds, newest first (ListBuilds).
func (c *Client) BuildList(ctx context.Context, q *QueryOptions) (*BuildList, error) {
	var l BuildList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/builds", query: q.values(), out: &l})
	return &l, err
}

// BuildListForProject lists a page of one project's builds, newest first (ListBuildsForProject).
func (c *Client) BuildListForProject(ctx context.Context, project string, q *QueryOptions) (*BuildList, error) {
	var l BuildList
	err := c.do(ctx, request{method: http.MethodGet, path: projectPath(project) + "/builds", query: q.values(), out: &l})
	return &l, err
}

// BuildStop stops a build: a queued one is STOPPED at once, a running one is marked
// stop_requested for its worker to end. A build that already ended is answered as it is.
func (c *Client) BuildStop(ctx context.Context, id string) (*Build, error) {
	var b Build
	err := c.do(ctx, request{method: http.MethodPost, path: buildPath(id) + "/stop", out: &b})
	return &b, err
}
