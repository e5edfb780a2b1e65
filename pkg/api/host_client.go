package api

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"time"
)

// HostTokenCreate creates a registration token for agents; the answer carries its secret once.
func (c *Client) HostTokenCreate(ctx context.Context, req HostTokenCreateRequest) (*HostToken, error) {
	var t HostToken
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/host-tokens", in: req, out: &t})
	return &t, err
}

// HostTokenList lists registration tokens, without their secrets, a page at a time.
func (c *Client) HostTokenList(ctx context.Context, q *QueryOptions) (*HostTokenList, error) {
	var l HostTokenList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/host-tokens", query: q.values(), out: &l})
	return &l, err
}

// HostTokenGet returns one registration token by accessor, without its secret.
func (c *Client) HostTokenGet(ctx context.Context, accessor string, q *QueryOptions) (*HostToken, error) {
	var t HostToken
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/host-tokens/" + url.PathEscape(accessor), query: q.values(), out: &t})
	return &t, err
}

// HostTokenRevoke deletes a registration token: it registers no more hosts. Hosts it registered
// keep working.
func (c *Client) HostTokenRevoke(ctx context.Context, accessor string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/v1/host-tokens/" + url.PathEscape(accessor)})
}

// HostList lists every registered host by name, following the pages (q.Limit is their size).
func (c *Client) HostList(ctx context.Context, q *QueryOptions) (*HostList, error) {
	return c.HostSearch(ctx, HostFilter{}, q)
}

// HostSearch lists every host f selects, by name, following the pages (q.Limit is their size);
// the server does the filtering.
func (c *Client) HostSearch(ctx context.Context, f HostFilter, q *QueryOptions) (*HostList, error) {
	out := HostList{Hosts: []Host{}}
	var opts QueryOptions
	if q != nil {
		opts = *q
	}
	keys := make([]string, 0, len(f.Tags))
	for k := range f.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for {
		v := opts.values()
		for _, k := range keys {
			v.Add("tag", k+"="+f.Tags[k])
		}
		if f.Status != "" {
			v.Set("status", f.Status)
		}
		var l HostList
		if err := c.do(ctx, request{method: http.MethodGet, path: "/v1/hosts", query: v, out: &l}); err != nil {
			return &out, err
		}
		out.Hosts = append(out.Hosts, l.Hosts...)
		if l.Next == "" || l.Next == opts.Next {
			return &out, nil
		}
		opts.Next = l.Next
	}
}

// HostGet returns one host by name.
func (c *Client) HostGet(ctx context.Context, name string, q *QueryOptions) (*Host, error) {
	var h Host
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/hosts/" + url.PathEscape(name), query: q.values(), out: &h})
	return &h, err
}

// HostDelete removes a host; its agent can no longer act.
func (c *Client) HostDelete(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/v1/hosts/" + url.PathEscape(name)})
}

// HostTag sets and removes tags of a host.
func (c *Client) HostTag(ctx context.Context, name string, req HostTagRequest) (*Host, error) {
	var h Host
	err := c.do(ctx, request{method: http.MethodPatch, path: "/v1/hosts/" + url.PathEscape(name) + "/tags", in: req, out: &h})
	return &h, err
}

// DeploymentCreate starts a deployment.
func (c *Client) DeploymentCreate(ctx context.Context, req DeploymentCreateRequest) (*Deployment, error) {
	var d Deployment
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/deployments", in: req, out: &d})
	return &d, err
}

// DeploymentGet returns a deployment.
func (c *Client) DeploymentGet(ctx context.Context, id string, q *QueryOptions) (*Deployment, error) {
	var d Deployment
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/deployments/" + url.PathEscape(id), query: q.values(), out: &d})
	return &d, err
}

// DeploymentList lists every deployment, of one app when app is set, oldest first, following
// the pages.
func (c *Client) DeploymentList(ctx context.Context, app string) (*DeploymentList, error) {
	return c.DeploymentSearch(ctx, DeploymentFilter{App: app}, nil)
}

// DeploymentSearch lists every deployment f selects, oldest first (newest first with
// f.Newest), following the pages (q.Limit is their size); the server does the filtering.
func (c *Client) DeploymentSearch(ctx context.Context, f DeploymentFilter, q *QueryOptions) (*DeploymentList, error) {
	out := DeploymentList{Deployments: []Deployment{}}
	var opts QueryOptions
	if q != nil {
		opts = *q
	}
	for {
		v := opts.values()
		for k, val := range map[string]string{"app": f.App, "group": f.Group, "host": f.Host, "status": f.Status} {
			if val != "" {
				v.Set(k, val)
			}
		}
		if !f.Since.IsZero() {
			v.Set("since", f.Since.UTC().Format(time.RFC3339))
		}
		if f.Newest {
			v.Set("order", "newest")
		}
		var l DeploymentList
		if err := c.do(ctx, request{method: http.MethodGet, path: "/v1/deployments", query: v, out: &l}); err != nil {
			return &out, err
		}
		out.Deployments = append(out.Deployments, l.Deployments...)
		if l.Next == "" || l.Next == opts.Next {
			return &out, nil
		}
		opts.Next = l.Next
	}
}

// DeploymentLogs returns a host's output lines after sequence after (0 for all).
func (c *Client) DeploymentLogs(ctx context.Context, id, host string, after uint64) (*DeploymentLogs, error) {
	var l DeploymentLogs
	q := url.Values{"host": {host}, "after": {formatUint(after)}}
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/deployments/" + url.PathEscape(id) + "/logs", query: q, out: &l})
	return &l, err
}

// DeploymentStop stops a deployment; with rollback, the group's last successful revision is
// deployed again afterwards.
func (c *Client) DeploymentStop(ctx context.Context, id string, rollback bool) (*Deployment, error) {
	var d Deployment
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/deployments/" + url.PathEscape(id) + "/stop", in: DeploymentStopRequest{Rollback: rollback}, out: &d})
	return &d, err
}
