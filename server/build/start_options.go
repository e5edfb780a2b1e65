package build

import (
	"context"
	"maps"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Formats of a SourceArtifact.
const (
	ArtifactTar = "tar"
	ArtifactZip = "zip"
)

// SourceArtifact is a build's source given as a blob of the cluster's blob store (a
// pipeline's input artifact) instead of its project's repository: the agent's source route
// serves it (a zip converted to a tar stream), the build references the blob while its record
// lives, and a start naming a blob the cluster has not recorded is not found. Repository and
// Commit say where it came from, when it is a repository's commit: the build's resolved
// source version is then Commit, and its commit status is set on it.
type SourceArtifact struct {
	SHA256     string `json:"sha256"`
	Size       int64  `json:"size"`
	Format     string `json:"format"` // ArtifactTar or ArtifactZip
	Repository string `json:"repository,omitempty"`
	Commit     string `json:"commit,omitempty"`
}

func (a SourceArtifact) validate() error {
	switch {
	case !state.ValidSHA(a.SHA256):
		return fault.New(fault.Invalid, "source artifact %q is not a blob's sha256", state.Shorten(a.SHA256))
	case a.Size < 0:
		return fault.New(fault.Invalid, "source artifact size %d is negative", a.Size)
	case a.Format != ArtifactTar && a.Format != ArtifactZip:
		return fault.New(fault.Invalid, "source artifact format %q is not tar or zip", state.Shorten(a.Format))
	case a.Repository != "" && !repoNameRe.MatchString(a.Repository):
		return fault.New(fault.Invalid, "source artifact repository %q is not a repository name", state.Shorten(a.Repository))
	case a.Commit != "" && !commitRe.MatchString(a.Commit):
		return fault.New(fault.Invalid, "source artifact commit %q is not a commit ID", state.Shorten(a.Commit))
	}
	return nil
}

// StartOptions are what other services may set on a build beside a pub.BuildStartRequest
// (the pipeline service's Build and Command actions): not part of the HTTP API.
type StartOptions struct {
	// SourceArtifact, when set, is the build's source instead of its project's repository (a
	// NO_SOURCE project's build gets it too); the start's source version must then be empty.
	SourceArtifact *SourceArtifact
	// BuildspecOverride, when set, is the build's buildspec (CodeBuild's buildspecOverride,
	// inline text only), validated as a project's inline buildspec.
	BuildspecOverride string
	// Labels, when not nil, replace the project's environment labels (which agents may run
	// the build).
	Labels map[string]string
}

// StartWith is Start with opts. Under a request ID (command.WithRequestID) a repeated call is
// answered with the first one's build, so a caller that retries starts one build.
func (s *Builds) StartWith(ctx context.Context, actor string, req pub.BuildStartRequest, opts StartOptions) (pub.Build, error) {
	p, err := s.prepareWith(ctx, actor, req, opts)
	if err != nil {
		return pub.Build{}, err
	}
	p.ID = p.Project + ":" + newUUID()
	res, err := command.Propose(ctx, s.m.core.Cluster, cmdStart, s.m.core.Now(), p)
	if err == nil {
		s.m.startStatus(ctx, res)
	}
	return buildAnswer(res, err)
}

// prepareWith is prepare with opts applied.
func (s *Builds) prepareWith(ctx context.Context, actor string, req pub.BuildStartRequest, opts StartOptions) (StartPayload, error) {
	if opts.SourceArtifact != nil {
		if err := opts.SourceArtifact.validate(); err != nil {
			return StartPayload{}, err
		}
	}
	p, err := s.prepareFrom(ctx, actor, req, opts.SourceArtifact)
	if err != nil {
		return p, err
	}
	return p, applyOverrides(&p, opts)
}

// applyOverrides applies opts' buildspec and labels to a start's payload.
func applyOverrides(p *StartPayload, opts StartOptions) error {
	if opts.BuildspecOverride != "" {
		if len(opts.BuildspecOverride) > MaxInlineBuildspec {
			return fault.New(fault.TooLarge, "the buildspec override is %d bytes; at most %d", len(opts.BuildspecOverride), MaxInlineBuildspec)
		}
		if err := checkBuildspec(opts.BuildspecOverride); err != nil {
			return err
		}
		p.Source.Buildspec, p.Source.BuildspecInline = "", opts.BuildspecOverride
	}
	if opts.Labels != nil {
		p.Environment.Labels = maps.Clone(opts.Labels)
	}
	return nil
}
