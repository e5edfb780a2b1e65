package api

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// BuildBatch is a batch build (CodeBuild's StartBuildBatch): the builds its project's buildspec's
// batch key makes, started together. ID is "PROJECT:UUID"; Status is IN_PROGRESS until every
// build ended, then SUCCEEDED (every build SUCCEEDED or failed with ignore-failure), FAILED or
// STOPPED.
type BuildBatch struct {
	ID                    string            `json:"id"`
	Project               string            `json:"project"`
	Status                string            `json:"status"`
	Initiator             string            `json:"initiator"`
	SourceVersion         string            `json:"source_version,omitempty"`
	ResolvedSourceVersion string            `json:"resolved_source_version,omitempty"`
	Kind                  string            `json:"kind"` // build-list, build-graph or build-matrix
	FastFail              bool              `json:"fast_fail,omitempty"`
	StopRequested         bool              `json:"stop_requested,omitempty"`
	Builds                []BuildBatchGroup `json:"build_groups"`
	StartTime             time.Time         `json:"start_time"`
	EndTime               *time.Time        `json:"end_time,omitempty"`
	CreateIndex           uint64            `json:"create_index"`
	ModifyIndex           uint64            `json:"modify_index"`
}

// BuildBatchGroup is one build of a batch (CodeBuild's build group): its identifier, its build,
// the identifiers it depends on, and the status its build ended with ("" while it has not).
type BuildBatchGroup struct {
	Identifier    string   `json:"identifier"`
	BuildID       string   `json:"build_id"`
	DependsOn     []string `json:"depends_on,omitempty"`
	IgnoreFailure bool     `json:"ignore_failure,omitempty"`
	Status        string   `json:"status,omitempty"`
}

// BuildBatchStartRequest is the body of POST /v1/build-batches: a batch of Project at
// SourceVersion ("": the project's), its buildspec's batch key read at the resolved commit (or
// the project's inline buildspec). EnvironmentVariablesOverride applies to every build.
type BuildBatchStartRequest struct {
	Project                      string                `json:"project"`
	SourceVersion                string                `json:"source_version,omitempty"`
	EnvironmentVariablesOverride []EnvironmentVariable `json:"environment_variables_override,omitempty"`
}

// BuildBatchList is the answer of the batch lists: newest first; Next continues it.
type BuildBatchList struct {
	Batches []BuildBatch `json:"build_batches"`
	Next    string       `json:"next,omitempty"`
}

func batchPath(id string) string { return "/v1/build-batches/" + url.PathEscape(id) }

// BuildBatchStart starts a batch build and answers it with its builds' IDs.
func (c *Client) BuildBatchStart(ctx context.Context, req BuildBatchStartRequest) (*BuildBatch, error) {
	var b BuildBatch
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/build-batches", in: req, out: &b})
	return &b, err
}

// BuildBatchGet returns a batch (BatchGetBuildBatches).
func (c *Client) BuildBatchGet(ctx context.Context, id string, q *QueryOptions) (*BuildBatch, error) {
	var b BuildBatch
	err := c.do(ctx, request{method: http.MethodGet, path: batchPath(id), query: q.values(), out: &b})
	return &b, err
}

// BuildBatchList lists a page of the cluster's batches, newest first (ListBuildBatches).
func (c *Client) BuildBatchList(ctx context.Context, q *QueryOptions) (*BuildBatchList, error) {
	var l BuildBatchList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/build-batches", query: q.values(), out: &l})
	return &l, err
}

// BuildBatchListForProject lists a page of one project's batches, newest first
// (ListBuildBatchesForProject).
func (c *Client) BuildBatchListForProject(ctx context.Context, project string, q *QueryOptions) (*BuildBatchList, error) {
	var l BuildBatchList
	err := c.do(ctx, request{method: http.MethodGet, path: projectPath(project) + "/build-batches", query: q.values(), out: &l})
	return &l, err
}

// BuildBatchStop stops a batch: its queued builds end STOPPED at once, its running ones are
// marked stop_requested. A batch that ended is answered as it is.
func (c *Client) BuildBatchStop(ctx context.Context, id string) (*BuildBatch, error) {
	var b BuildBatch
	err := c.do(ctx, request{method: http.MethodPost, path: batchPath(id) + "/stop", out: &b})
	return &b, err
}
