package server

import (
	"bytes"
	"context"
)

// ReadFile reads file path of repo at commit (build.Sources), for a batch build's buildspec:
// this server's copy, synced with the replicated refs first. The git service's browser checks
// the path (no escape from the tree) and refuses a file over max bytes (fault.TooLarge) before
// reading it; a missing path is fault.NotFound.
func (s buildSources) ReadFile(ctx context.Context, repo, commit, path string, max int64) ([]byte, error) {
	b, err := s.g.Browse(ctx, repo)
	if err != nil {
		return nil, err
	}
	f, err := b.File(ctx, commit, path, max)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := b.WriteFile(ctx, f, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
