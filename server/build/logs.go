package build

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Bounds of a page of a build's log.
const (
	DefaultLogLimit = 1000
	MaxLogLimit     = pub.MaxBuildLogLimit
	maxLogPageText  = 4 << 20 // bytes of text in one page (at least one line)
)

// readRoutes are the read side of builds: their logs, artifacts and reports, each authorized as
// reading the build (codebuild:BatchGetBuilds on its project).
func (m *Module) readRoutes() []api.Route {
	get := func(pattern string, h api.HandlerFunc) api.Route {
		return api.Route{Method: "GET", Pattern: pattern, Access: api.AnyToken, Action: "codebuild:BatchGetBuilds", Resource: "project/*", Handle: h, ResolveResource: resolveBuild}
	}
	return []api.Route{
		get("/v1/builds/{id}/logs", m.buildLogs),
		get("/v1/builds/{id}/logs/watch", m.buildLogsWatch),
		get("/v1/builds/{id}/artifacts", m.buildArtifacts),
		get("/v1/builds/{id}/artifacts/{name}", m.buildArtifactDownload),
		get("/v1/builds/{id}/reports", m.buildReports),
	}
}

// logQuery reads ?after= (a line number, default 0) and ?limit= (1-MaxLogLimit, default
// DefaultLogLimit).
func logQuery(r *http.Request) (after uint64, limit int, err error) {
	q := r.URL.Query()
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseUint(v, 10, 64); err != nil {
			return 0, 0, fault.New(fault.Invalid, "after must be the number of the last line received, not %s", state.Shorten(v))
		}
	}
	limit = DefaultLogLimit
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > MaxLogLimit {
			return 0, 0, fault.New(fault.Invalid, "limit must be 1-%d lines, not %s", MaxLogLimit, state.Shorten(v))
		}
	}
	return after, limit, nil
}

func (m *Module) buildLogs(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	after, limit, err := logQuery(r)
	if err != nil {
		return err
	}
	if err := m.core.HTTP.ReadBarrier(r); err != nil {
		return err
	}
	page, err := m.Builds().Logs(r.Context(), r.PathValue("id"), after, limit)
	if err != nil {
		return err
	}
	m.core.HTTP.JSON(w, http.StatusOK, page)
	return nil
}

// Logs answers the lines of build id's log after line after, at most limit of them and about
// 4 MiB of text: from its build/logs batches while the build runs and until its log was
// assembled, from the log blob afterwards.
func (s *Builds) Logs(ctx context.Context, id string, after uint64, limit int) (pub.BuildLogPage, error) {
	page, _, err := s.logs(ctx, id, after, limit)
	return page, err
}

// logs is Logs that also answers the build's record as the page was read.
func (s *Builds) logs(ctx context.Context, id string, after uint64, limit int) (pub.BuildLogPage, Build, error) {
	if _, _, err := SplitID(id); err != nil {
		return pub.BuildLogPage{}, Build{}, err
	}
	if limit < 1 || limit > MaxLogLimit {
		limit = DefaultLogLimit
	}
	page := pub.BuildLogPage{Lines: []pub.BuildLogLine{}, Next: after}
	var b Build
	err := s.m.core.State.View(func(tx *state.Tx) error {
		var err error
		if b, err = mustBuild(tx, id); err != nil || b.LogBlob != "" {
			return err
		}
		text := 0
		return eachBatch(tx, id, after, func(bt logBatch) (bool, error) {
			for i, l := range bt.Lines {
				n := bt.First + uint64(i)
				if n <= page.Next {
					continue
				}
				if len(page.Lines) == limit || (len(page.Lines) > 0 && text+len(l.Text) > maxLogPageText) {
					return false, nil
				}
				page.Lines = append(page.Lines, pub.BuildLogLine{N: n, Time: l.Time, Phase: l.Phase, Text: l.Text})
				page.Next, text = n, text+len(l.Text)
			}
			return true, nil
		})
	})
	if err != nil {
		return pub.BuildLogPage{}, b, err
	}
	if b.LogBlob != "" {
		if err := s.blobLines(ctx, b, &page, limit); err != nil {
			return pub.BuildLogPage{}, b, err
		}
	}
	page.Truncated = b.LogTruncated
	page.Ended = b.Ended() && page.Next >= b.LogLines
	return page, b, nil
}

// blobLines fills page with the lines after page.Next from the build's log blob, reading from the
// indexed offset at or before it.
func (s *Builds) blobLines(ctx context.Context, b Build, page *pub.BuildLogPage, limit int) error {
	after := page.Next
	if after >= b.LogLines {
		return nil
	}
	store := s.m.blobStore()
	if store == nil {
		return fault.New(fault.Unavailable, "this server has no blob store to read build logs from")
	}
	f, _, err := store.Open(ctx, b.LogBlob)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	k := after / LogIndexStride
	if k >= uint64(len(b.LogIndex)) {
		return fault.New(fault.Internal, "the log index of build %s has no entry %d", b.ID, k)
	}
	if _, err := f.Seek(b.LogIndex[k], io.SeekStart); err != nil {
		return err
	}
	rd := bufio.NewReaderSize(f, 64<<10)
	text := 0
	for len(page.Lines) < limit {
		raw, err := rd.ReadBytes('\n')
		eof := errors.Is(err, io.EOF)
		if eof && len(raw) == 0 {
			return nil
		}
		if err != nil && !eof {
			return err
		}
		var l pub.BuildLogLine
		if jerr := json.Unmarshal(raw, &l); jerr != nil {
			return fmt.Errorf("the log blob of build %s: %w", b.ID, jerr)
		}
		if l.N > after {
			if len(page.Lines) > 0 && text+len(l.Text) > maxLogPageText {
				return nil
			}
			page.Lines = append(page.Lines, l)
			page.Next, text = l.N, text+len(l.Text)
		}
		if eof {
			return nil
		}
	}
	return nil
}
