package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// BuildLogLine is one line of a build's log: its number (from 1 in each build), when the worker
// printed it, the phase that printed it and its text (secrets masked by the worker).
type BuildLogLine struct {
	N     uint64    `json:"n"`
	Time  time.Time `json:"time"`
	Phase string    `json:"phase,omitempty"`
	Text  string    `json:"text"`
}

// BuildLogPage is the answer of GET /v1/builds/{id}/logs: the lines after ?after=, in order.
// Next is the ?after= of the next page (the last line's number, or after when there is none);
// Ended is true once the build ended and no line follows Next; Truncated once the build's log
// reached its limit (64 MiB) and later lines were dropped.
type BuildLogPage struct {
	Lines     []BuildLogLine `json:"lines"`
	Next      uint64         `json:"next"`
	Ended     bool           `json:"ended"`
	Truncated bool           `json:"truncated,omitempty"`
}

// BuildLogMessage is one message of GET /v1/builds/{id}/logs/watch: Lines (with Next, the
// number of the last one) when new lines were committed, Build when the build's record changed
// (its modify index rose), and a last message with End set to the build's final status once the
// build ended and every line was sent (the server then closes the stream normally).
type BuildLogMessage struct {
	Lines []BuildLogLine `json:"lines,omitempty"`
	Next  uint64         `json:"next,omitempty"`
	Build *Build         `json:"build,omitempty"`
	End   string         `json:"end,omitempty"`
}

// BuildReportSummary is one report group of a build without its cases (on the build's record).
type BuildReportSummary struct {
	Name      string         `json:"name"`
	Format    string         `json:"format"`
	Status    string         `json:"status"`
	Total     int            `json:"total"`
	Counts    map[string]int `json:"counts"`
	Truncated bool           `json:"truncated,omitempty"`
}

// BuildReport is one report group's report with its cases (at most 500, failures first), as
// GET /v1/builds/{id}/reports answers it.
type BuildReport struct {
	Name       string          `json:"name"`
	Format     string          `json:"format"` // JUNITXML or CUCUMBERJSON
	Status     string          `json:"status"` // SUCCEEDED, FAILED or INCOMPLETE
	Message    string          `json:"message,omitempty"`
	Total      int             `json:"total"`
	Counts     map[string]int  `json:"counts"`
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

// BuildReports is the answer of GET /v1/builds/{id}/reports, in report name order.
type BuildReports struct {
	Reports []BuildReport `json:"reports"`
}

// BuildArtifacts is the answer of GET /v1/builds/{id}/artifacts.
type BuildArtifacts struct {
	Artifacts []BuildArtifact `json:"artifacts"`
}

// MaxBuildLogLimit is the most lines a page of a build's log holds (?limit=).
const MaxBuildLogLimit = 10000

// BuildLogs returns the lines of a build's log after line after (0: from the first), at most
// limit of them (0: the server's default, 1000).
func (c *Client) BuildLogs(ctx context.Context, id string, after uint64, limit int) (*BuildLogPage, error) {
	q := url.Values{}
	if after > 0 {
		q.Set("after", formatUint(after))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var p BuildLogPage
	err := c.do(ctx, request{method: http.MethodGet, path: buildPath(id) + "/logs", query: q, out: &p})
	return &p, err
}

// BuildLogsFollow streams a build's log after line after over a websocket, calling fn for each
// message, until the build ended and every line was sent (nil; the last message has End set),
// fn returns an error, or ctx ends. A lost connection goes on from another server (the
// configured addresses and the servers the cluster listed), resuming after the last line fn
// saw, as DeploymentWatch does; after Config.ReconnectFor without reaching any it returns a
// *ServersLostError.
func (c *Client) BuildLogsFollow(ctx context.Context, id string, after uint64, fn func(BuildLogMessage) error) error {
	servers := append([]*url.URL(nil), c.addrs...)
	learned, seen := false, false
	at, tried := 0, 0
	var lostSince time.Time
	backoff := 100 * time.Millisecond
	for {
		cc := c.at(servers[at])
		progressed := false
		err := cc.followOnce(ctx, id, after, func() {
			if !learned {
				learned = true
				servers = cc.learnServers(ctx, servers)
			}
		}, func(m BuildLogMessage) error {
			progressed, seen = true, true
			if err := fn(m); err != nil {
				return err
			}
			if len(m.Lines) > 0 {
				after = m.Next
			}
			return nil
		})
		if err == nil || ctx.Err() != nil {
			if err != nil {
				return ctx.Err()
			}
			return nil
		}
		if errors.Is(err, errFn) || c.reconnectFor < 0 || !reconnectable(err, &watchCursor{index: boolIndex(seen)}) {
			return unwrapFn(err)
		}
		if progressed || lostSince.IsZero() {
			lostSince, tried, backoff = time.Now(), 0, 100*time.Millisecond
		}
		if time.Since(lostSince) > c.reconnectFor {
			var addrs []string
			for _, u := range servers {
				addrs = append(addrs, u.Host)
			}
			return &ServersLostError{Deployment: id, Build: true, Servers: addrs, For: time.Since(lostSince), Last: err}
		}
		at = (at + 1) % len(servers)
		if tried++; tried < len(servers) {
			continue
		}
		tried = 0
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(backoff, max(c.reconnectFor-time.Since(lostSince), time.Millisecond))):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// boolIndex makes reconnectable treat not found as worth another server once a server had the
// build (a lagging server may not have it yet).
func boolIndex(seen bool) uint64 {
	if seen {
		return 1
	}
	return 0
}

// followOnce runs one connection of a follow; it returns nil once the server sent End.
func (c *Client) followOnce(ctx context.Context, id string, after uint64, connected func(), fn func(BuildLogMessage) error) error {
	q := url.Values{}
	if after > 0 {
		q.Set("after", formatUint(after))
	}
	ws, err := c.dialWS(ctx, buildPath(id)+"/logs/watch", q)
	if err != nil {
		return err
	}
	defer func() { _ = ws.Close() }()
	connected()
	for {
		var m BuildLogMessage
		if err := ws.ReadJSON(&m); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return c.transportErr(err)
		}
		if err := fn(m); err != nil {
			return &fnError{err: err}
		}
		if m.End != "" {
			return nil
		}
	}
}

// BuildArtifacts lists the artifacts a build kept.
func (c *Client) BuildArtifacts(ctx context.Context, id string) (*BuildArtifacts, error) {
	var l BuildArtifacts
	err := c.do(ctx, request{method: http.MethodGet, path: buildPath(id) + "/artifacts", out: &l})
	return &l, err
}

// BuildArtifactDownload writes the zip of a build's artifact to w: name is "primary" or a
// secondary artifact's identifier. An error after the first byte means what w holds is
// incomplete; it is retried only before the answer begins.
func (c *Client) BuildArtifactDownload(ctx context.Context, id, name string, w io.Writer) error {
	return c.do(ctx, request{method: http.MethodGet, path: buildPath(id) + "/artifacts/" + url.PathEscape(name), rawOut: w})
}

// BuildReports returns a build's reports with their cases.
func (c *Client) BuildReports(ctx context.Context, id string) (*BuildReports, error) {
	var l BuildReports
	err := c.do(ctx, request{method: http.MethodGet, path: buildPath(id) + "/reports", out: &l})
	return &l, err
}
