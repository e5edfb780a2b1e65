package providers

import (
	"context"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/git"
	"github.com/slipwayhq/slipway/server/git/transport"
	"github.com/slipwayhq/slipway/server/pipeline"
)

// Configuration keys of a SlipwayRepo (Source) action.
const (
	KeyRepositoryName = "RepositoryName"
	KeyBranchName     = "BranchName"
)

// maxCommitMessage bounds the CommitMessage output variable, in bytes.
const maxCommitMessage = 4 << 10

// Repo is the SlipwayRepo provider: a source action's output is the tar of the commit the
// execution fixed when it started (run.Source), `git archive` of it stored in the blob store,
// and its variables CommitId, BranchName, RepositoryName, AuthorDate (RFC 3339), AuthorEmail
// and CommitMessage (its first 4 KiB). The work is over at once: Start answers the final
// result. The archive is content-addressed, so a Start repeated after a leader change stores
// nothing twice.
type Repo struct {
	git  *git.Module
	memo archiveMemo // one archive per repository and commit for many pipelines (repo_memo.go)
}

// Start implements pipeline.Provider.
func (p *Repo) Start(ctx context.Context, run pipeline.ActionRun) (pipeline.Result, error) {
	src := run.Source
	if src == nil || src.Commit == "" {
		return failed("", "", "the execution fixed no commit for source action %s", run.Action), nil
	}
	summary := "commit " + short(src.Commit) + " of " + src.Repository
	got, err := p.memo.get(ctx, src.Repository+"\x00"+src.Commit, func() (archived, error) {
		b, err := p.git.Browse(ctx, src.Repository)
		if err != nil {
			return archived{}, err
		}
		blob, err := b.ArchiveBlob(ctx, src.Commit)
		if err != nil {
			return archived{}, err
		}
		c, err := b.Commit(ctx, src.Commit)
		return archived{blob: blob, commit: c}, err
	})
	if err != nil {
		return p.answer(src.Commit, summary, err)
	}
	blob, c := got.blob, got.commit
	branch := src.Branch
	if branch == "" {
		branch = run.Configuration[KeyBranchName]
	}
	res := pipeline.Result{Done: true, Status: pub.PipelineSucceeded, ExternalID: src.Commit, Summary: summary,
		Variables: map[string]string{
			"CommitId": src.Commit, "BranchName": branch, "RepositoryName": src.Repository,
			"AuthorDate": c.Author.Time.UTC().Format(time.RFC3339), "AuthorEmail": c.Author.Email,
			"CommitMessage": clip(strings.TrimRight(c.Message, "\n"), maxCommitMessage),
		}}
	if len(run.OutputNames) > 0 {
		res.Outputs = []pub.PipelineArtifact{{Name: run.OutputNames[0], SHA256: blob.SHA256, Size: blob.Size,
			Format: "tar", Repository: src.Repository, Commit: src.Commit}}
	}
	return res, nil
}

// answer is a failed read's answer: final (a repository or commit gone, ...) or retried.
func (p *Repo) answer(commit, summary string, err error) (pipeline.Result, error) {
	if final(err) {
		return failed(commit, summary, "%v", err), nil
	}
	return pipeline.Result{}, err
}

// Poll implements pipeline.Provider: Start's work is over when it answers, so Poll does it
// again (it stores nothing twice).
func (p *Repo) Poll(ctx context.Context, run pipeline.ActionRun, _ string) (pipeline.Result, error) {
	return p.Start(ctx, run)
}

// Stop implements pipeline.Provider: there is nothing to stop.
func (p *Repo) Stop(context.Context, pipeline.ActionRun, string) error { return nil }

// Needs implements pipeline.Checker: the pipeline reads the repository on its author's behalf.
func (p *Repo) Needs(a pipelinespec.Action) []pipeline.Need {
	return []pipeline.Need{{Action: transport.ActionGitPull, Resource: "repo/" + resourcePart(a.Configuration[KeyRepositoryName])}}
}

// Check implements pipeline.Checker: the repository exists (unless a variable names it).
func (p *Repo) Check(ctx context.Context, a pipelinespec.Action) error {
	repo := a.Configuration[KeyRepositoryName]
	if repo == "" {
		return fault.New(fault.Invalid, "action %s: configuration %s is required", a.Name, KeyRepositoryName)
	}
	if a.Configuration[KeyBranchName] == "" {
		return fault.New(fault.Invalid, "action %s: configuration %s is required", a.Name, KeyBranchName)
	}
	if variable(repo) {
		return nil
	}
	if _, err := p.git.Repos().Get(ctx, repo); err != nil {
		return fault.New(fault.CodeOf(err), "action %s: %v", a.Name, err)
	}
	return nil
}

// short is a commit ID's first 12 characters.
func short(commit string) string { return clip(commit, 12) }
