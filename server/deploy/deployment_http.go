package deploy

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// deploymentRoutes are the deployments' endpoints. Method, pattern, access, action and resource
// are as the core declared them before the service existed, except the bundle's action, which
// is the service's own ("codedeploy:DownloadBundle", was "agent:DownloadBundle").
func (m *Module) deploymentRoutes() []api.Route {
	return []api.Route{
		{Method: "POST", Pattern: "/v1/deployments", Access: api.Management, Action: "codedeploy:CreateDeployment", Resource: "deployment/*", Handle: httpHandlers{m}.deploymentCreate, ResolveResource: httpHandlers{m}.resolveDeploymentCreate},
		{Method: "GET", Pattern: "/v1/deployments", Access: api.AnyToken, Action: "codedeploy:ListDeployments", Resource: "deployment/*", Handle: httpHandlers{m}.deploymentList, ResolveResource: httpHandlers{m}.resolveDeploymentList},
		{Method: "GET", Pattern: "/v1/deployments/{id}", Access: api.AnyToken, Action: "codedeploy:GetDeployment", Resource: "deployment/{id}", Handle: httpHandlers{m}.deploymentGet, ResolveResource: httpHandlers{m}.resolveDeployment},
		{Method: "GET", Pattern: "/v1/deployments/{id}/logs", Access: api.AnyToken, Action: "codedeploy:GetDeploymentLogs", Resource: "deployment/{id}", Handle: httpHandlers{m}.deploymentLogs, ResolveResource: httpHandlers{m}.resolveDeployment},
		{Method: "GET", Pattern: "/v1/deployments/{id}/watch", Access: api.AnyToken, Action: "codedeploy:WatchDeployment", Resource: "deployment/{id}", Handle: httpHandlers{m}.deploymentWatch, ResolveResource: httpHandlers{m}.resolveDeployment},
		{Method: "POST", Pattern: "/v1/deployments/{id}/stop", Access: api.Management, Action: "codedeploy:StopDeployment", Resource: "deployment/{id}", Handle: httpHandlers{m}.deploymentStop, ResolveResource: httpHandlers{m}.resolveDeployment},
		{Method: "GET", Pattern: "/v1/agent/deployments/{id}/bundle", Access: api.HostSecret, Action: "codedeploy:DownloadBundle", Resource: "deployment/{id}", Handle: httpHandlers{m}.agentBundle},
	}
}

func (m httpHandlers) deploymentCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusCreated, func(ctx context.Context, _ *http.Request, req pub.DeploymentCreateRequest) (pub.Deployment, error) {
		return m.deployments().Create(ctx, req)
	})(w, r, id)
}

// record reads the deployment the path names (see Deployments.Record).
func (m httpHandlers) record(r *http.Request) (Deployment, error) {
	ctx, cancel := m.core.HTTP.WaitContext(r)
	defer cancel()
	return m.deployments().Record(ctx, r.PathValue("id"))
}

// header returns the header of the deployment the path names (Deployments.Header).
func (m httpHandlers) header(r *http.Request) (Deployment, error) {
	ctx, cancel := m.core.HTTP.WaitContext(r)
	defer cancel()
	return m.deployments().Header(ctx, r.PathValue("id"))
}

func (m httpHandlers) deploymentGet(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(r *http.Request) (pub.Deployment, error) {
		d, err := m.record(r)
		if err != nil {
			return pub.Deployment{}, err
		}
		return deploymentView(d), nil
	})(w, r, id)
}

// deploymentList answers a page of deployments, oldest first (newest first with
// ?order=newest), filtered by ?app=, ?group=, ?host= (a host's name: the deployments that target
// it, each with its host_status), ?status= and ?since= (RFC 3339: created at or after).
func (m httpHandlers) deploymentList(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	k := m.core.HTTP
	p, err := k.Page(r)
	if err != nil {
		return err
	}
	v := r.URL.Query()
	q := DeploymentQuery{App: v.Get("app"), Group: v.Get("group"), Host: v.Get("host"), Status: v.Get("status"), After: p.After, Limit: p.Limit}
	switch order := v.Get("order"); order {
	case "", "oldest":
	case "newest":
		q.Newest = true
	default:
		return fault.New(fault.Invalid, "order must be oldest or newest, not %s", state.Shorten(order))
	}
	if since := v.Get("since"); since != "" {
		if q.Since, err = time.Parse(time.RFC3339, since); err != nil {
			return fault.New(fault.Invalid, "since must be a time in RFC 3339 form (2026-01-02T15:04:05Z), not %s", state.Shorten(since))
		}
	}
	if err := k.ReadBarrier(r); err != nil {
		return err
	}
	list, next, err := m.deployments().Query(q)
	if err != nil {
		return err
	}
	k.JSON(w, http.StatusOK, pub.DeploymentList{Deployments: list, Next: next})
	return nil
}

func (m httpHandlers) deploymentLogs(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	k := m.core.HTTP
	if err := k.ReadBarrier(r); err != nil {
		return err
	}
	d, err := m.record(r)
	if err != nil {
		return err
	}
	tg, err := targetByName(d, r.URL.Query().Get("host"))
	if err != nil {
		return err
	}
	var after uint64
	if a := r.URL.Query().Get("after"); a != "" {
		if after, err = strconv.ParseUint(a, 10, 64); err != nil {
			return fault.New(fault.Invalid, "after must be a sequence number, not %s", state.Shorten(a))
		}
	}
	out, err := m.deployments().logsAfter(d, tg, after)
	if err != nil {
		return err
	}
	k.JSON(w, http.StatusOK, out)
	return nil
}

// deploymentWatch streams a deployment over a websocket: the deployment whenever it changes and
// its output lines as they commit, until it has finished and everything was sent. It is closed
// (1008, with the reason) when its token is revoked, through any server, or expires: the stream
// wakes on every applied entry, so it sees the revocation as soon as this server applies it.
// Like /v1/events, it holds one of its token's Limits.MaxStreamsPerToken slots until it ends.
// ?index= and ?after= resume a watch where its client left it (see pub.WatchMessage).
func (m httpHandlers) deploymentWatch(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	k := m.core.HTTP
	from, err := watchFrom(r)
	if err != nil {
		return err
	}
	d, err := m.record(r)
	if err != nil {
		return err
	}
	wt, err := k.OpenWatch(w, r, id)
	if wt == nil || err != nil {
		return err
	}
	send := func(msg pub.WatchMessage) bool { return wt.Send(msg) }
	end, err := m.deployments().Watch(wt.Context(), d.ID, from, wt.Stopped, send)
	wt.End(end.Stopped, end.Status, err)
	return nil
}

// maxWatchAfter bounds the after= parameters of one watch (one per host of the deployment).
const maxWatchAfter = 10000

// watchFrom reads where a watch resumes: ?index=N and ?after=HOST:SEQ (repeatable).
func watchFrom(r *http.Request) (WatchFrom, error) {
	q := r.URL.Query()
	from := WatchFrom{After: map[string]uint64{}}
	if v := q.Get("index"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return from, fault.New(fault.Invalid, "index must be the modify index of the last deployment received, not %s", state.Shorten(v))
		}
		from.Index = n
	}
	if len(q["after"]) > maxWatchAfter {
		return from, fault.New(fault.Invalid, "too many after= parameters (%d): give at most one per host of the deployment", len(q["after"]))
	}
	for _, a := range q["after"] {
		i := strings.LastIndexByte(a, ':')
		seq, err := strconv.ParseUint(a[i+1:], 10, 64)
		if i <= 0 || err != nil {
			return from, fault.New(fault.Invalid, "after must be HOST:SEQ (a host name and the log sequence received), not %s", state.Shorten(a))
		}
		from.After[a[:i]] = seq
	}
	return from, nil
}

func (m httpHandlers) deploymentStop(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	k := m.core.HTTP
	var req pub.DeploymentStopRequest
	if r.ContentLength != 0 {
		if err := k.Decode(w, r, &req); err != nil {
			return err
		}
	}
	ctx, cancel, err := k.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	d, err := m.deployments().Stop(ctx, r.PathValue("id"), req.Rollback)
	if err != nil {
		return err
	}
	k.JSON(w, http.StatusOK, d)
	return nil
}

// agentBundle serves a deployment's bundle to a host the deployment runs on, and to no other.
func (m httpHandlers) agentBundle(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	d, err := m.header(r)
	if err != nil {
		return err
	}
	var ok bool
	_ = m.core.State.View(func(tx *state.Tx) error { _, ok = readTarget(tx, d, id.Host.ID); return nil })
	if !ok {
		return fault.New(fault.Forbidden, "deployment %s does not run on host %s", d.ID, id.Host.Name)
	}
	return m.core.HTTP.ServeBlob(w, r, d.SHA256, d.ID+"."+d.Format)
}
