package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// RevisionPush uploads a bundle of size bytes (sha256 as lowercase hex, "" to skip the check)
// as a revision of app. created is false when the app already had a revision with this content.
// The body is streamed and the request is not retried.
func (c *Client) RevisionPush(ctx context.Context, app string, body io.Reader, size int64, sha256, description string) (rev *Revision, created bool, err error) {
	u := c.url("/v1/apps/" + url.PathEscape(app) + "/revisions")
	if description != "" {
		u.RawQuery = url.Values{"description": {description}}.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), body)
	if err != nil {
		return nil, false, err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	if sha256 != "" {
		req.Header.Set(HeaderSHA256, sha256)
	}
	c.authorize(req)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, false, c.transportErr(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return nil, false, decodeError(resp)
	}
	var r Revision
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, false, fmt.Errorf("decode answer: %w", err)
	}
	return &r, resp.StatusCode == http.StatusCreated, nil
}

// RevisionList lists an app's revisions, oldest first.
func (c *Client) RevisionList(ctx context.Context, app string, q *QueryOptions) (*RevisionList, error) {
	var l RevisionList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/apps/" + url.PathEscape(app) + "/revisions", query: q.values(), out: &l})
	return &l, err
}

// RevisionLatest names an application's newest revision wherever a revision is taken (with the
// application: RevisionFind's app, DeploymentCreateRequest.App).
const RevisionLatest = "latest"

// RevisionGet returns one revision; id may be a unique prefix of its ID.
func (c *Client) RevisionGet(ctx context.Context, id string, q *QueryOptions) (*Revision, error) {
	return c.RevisionFind(ctx, "", id, q)
}

// RevisionFind returns the revision ref names: its ID, a unique prefix of it (at least 4
// characters), or RevisionLatest, app's newest (which needs app). With app set, the revision
// must be app's. An ambiguous prefix is a bad_request error listing the candidates.
func (c *Client) RevisionFind(ctx context.Context, app, ref string, q *QueryOptions) (*Revision, error) {
	v := q.values()
	if app != "" {
		v.Set("app", app)
	}
	var r Revision
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/revisions/" + url.PathEscape(ref), query: v, out: &r})
	return &r, err
}

// Download describes a started download.
type Download struct {
	Body   io.ReadCloser // the bytes from Offset on; the caller closes it
	Offset int64         // where Body starts
	Size   int64         // the whole content's size
	SHA256 string        // the whole content's sha256
}

// RevisionDownload starts downloading a revision's bundle from offset (to resume a partial
// download; 0 for all of it).
func (c *Client) RevisionDownload(ctx context.Context, id string, offset int64) (*Download, error) {
	u := c.url("/v1/revisions/" + url.PathEscape(id) + "/content")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	c.authorize(req)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.transportErr(err)
	}
	d := &Download{Body: resp.Body, SHA256: resp.Header.Get(HeaderSHA256)}
	switch resp.StatusCode {
	case http.StatusOK:
		d.Size = resp.ContentLength
	case http.StatusPartialContent:
		d.Offset = offset
		// Content-Range: bytes START-END/SIZE
		if i := strings.LastIndexByte(resp.Header.Get("Content-Range"), '/'); i >= 0 {
			d.Size, _ = strconv.ParseInt(resp.Header.Get("Content-Range")[i+1:], 10, 64)
		}
	case http.StatusRequestedRangeNotSatisfiable:
		_ = resp.Body.Close()
		return nil, &Error{Status: resp.StatusCode, Code: CodeBadRequest, Message: fmt.Sprintf("cannot resume at byte %d: the partial file is longer than the revision; delete it and download again", offset)}
	default:
		defer func() { _ = resp.Body.Close() }()
		return nil, decodeError(resp)
	}
	return d, nil
}
