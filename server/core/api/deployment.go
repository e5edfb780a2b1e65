package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

func deploymentView(d state.Deployment) pub.Deployment {
	out := pub.Deployment{ID: d.ID, App: d.App, Revision: d.RevisionID, SHA256: d.SHA256, Status: d.Status, Message: d.Message,
		Group: d.Group, RollbackOf: d.RollbackOf, RolledBack: d.RolledBackBy,
		CreateTime: d.CreateTime, EndTime: d.EndTime, ModifyIndex: d.ModifyIndex, Targets: []pub.DeploymentTarget{}}
	if d.Rollout != nil {
		out.Config, out.MinHealthy = d.Rollout.Config.Name, d.Rollout.MinHealthy
	}
	for _, tg := range d.Targets {
		t := pub.DeploymentTarget{Host: tg.HostName, Status: tg.Status, Message: tg.Message, LogTruncated: tg.Truncated, EventsTruncated: tg.EventsTruncated}
		for _, e := range tg.Events {
			t.Events = append(t.Events, pub.LifecycleEvent{Name: e.Name, Script: e.Script, Status: e.Status, Result: e.Result,
				ExitCode: e.ExitCode, Message: e.Message, Start: e.Start, End: e.End})
		}
		out.Targets = append(out.Targets, t)
	}
	sort.Slice(out.Targets, func(i, j int) bool { return out.Targets[i].Host < out.Targets[j].Host })
	return out
}

// validDeploymentRequest checks the names a deployment request refers to, so that a hostile
// value is refused with a short message instead of being looked up and echoed.
func validDeploymentRequest(req pub.DeploymentCreateRequest) error {
	if err := state.ValidateName("application", req.App); err != nil {
		return err
	}
	if err := state.ValidateText("revision", req.Revision, maxResourceLen); err != nil {
		return err
	}
	if req.Group != "" {
		if err := state.ValidateName("deployment group", req.Group); err != nil {
			return err
		}
	}
	if req.Config != "" {
		if err := state.ValidateName("deployment config", req.Config); err != nil {
			return err
		}
	}
	for _, h := range req.Hosts {
		if err := state.ValidateName("host", h); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) deploymentCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	var req pub.DeploymentCreateRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if req.App == "" || req.Revision == "" || (len(req.Hosts) == 0) == (req.Group == "") {
		return fault.New(fault.Invalid, "a deployment needs an app, a revision, and either a group or at least one host")
	}
	if err := validDeploymentRequest(req); err != nil {
		return err
	}
	var hostIDs []string
	seen := map[string]bool{}
	err := s.cfg.State.View(func(tx *state.Tx) error {
		for _, name := range req.Hosts {
			h, err := tx.HostByName(name)
			if err != nil {
				return err
			}
			if !seen[h.ID] {
				seen[h.ID] = true
				hostIDs = append(hostIDs, h.ID)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	res, err := s.apply(r, id, command.TypeDeploymentCreate, command.DeploymentCreate{
		ID: "d-" + uuid.NewString()[:18], App: req.App, RevisionID: req.Revision, HostIDs: hostIDs,
		Group: req.Group, Config: req.Config, IgnoreApplicationStopFailures: req.IgnoreApplicationStopFailures,
	})
	if err != nil {
		return err
	}
	var d state.Deployment
	if err := decodeData(res, &d); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, deploymentView(d))
	return nil
}

func (s *Server) getDeployment(r *http.Request) (state.Deployment, error) {
	var d state.Deployment
	get := func() error {
		return s.cfg.State.View(func(tx *state.Tx) error {
			var err error
			d, err = tx.GetDeployment(r.PathValue("id"))
			return err
		})
	}
	err := get()
	if fault.CodeOf(err) == fault.NotFound {
		ctx, cancel := contextWithTimeout(r, s.cfg.WriteTimeout)
		if s.cfg.Cluster.ConsistentRead(ctx) == nil {
			err = get()
		}
		cancel()
	}
	return d, err
}

func (s *Server) deploymentGet(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if err := s.readBarrier(r); err != nil {
		return err
	}
	d, err := s.getDeployment(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, deploymentView(d))
	return nil
}

func (s *Server) deploymentList(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if err := s.readBarrier(r); err != nil {
		return err
	}
	out := pub.DeploymentList{Deployments: []pub.Deployment{}}
	err := s.cfg.State.View(func(tx *state.Tx) error {
		list, err := tx.ListDeployments(r.URL.Query().Get("app"))
		for _, d := range list {
			out.Deployments = append(out.Deployments, deploymentView(d))
		}
		return err
	})
	if err != nil {
		return err
	}
	sort.Slice(out.Deployments, func(i, j int) bool { return out.Deployments[i].CreateTime.Before(out.Deployments[j].CreateTime) })
	writeJSON(w, http.StatusOK, out)
	return nil
}

func targetByName(d state.Deployment, name string) (*state.Target, error) {
	for _, tg := range d.Targets {
		if tg.HostName == name || (name == "" && len(d.Targets) == 1) {
			return tg, nil
		}
	}
	if name == "" {
		return nil, fault.New(fault.Invalid, "deployment %s runs on %d hosts: name one with host=", d.ID, len(d.Targets))
	}
	return nil, fault.New(fault.NotFound, "deployment %s does not run on host %s", d.ID, state.Shorten(name))
}

func (s *Server) logsAfter(d state.Deployment, tg *state.Target, after uint64) (pub.DeploymentLogs, error) {
	out := pub.DeploymentLogs{Host: tg.HostName, Lines: []pub.LogLine{}, Next: after, Truncated: tg.Truncated}
	err := s.cfg.State.View(func(tx *state.Tx) error {
		return tx.Logs(d.ID, tg.HostID, after, func(seq uint64, raw []byte) error {
			var lines []pub.LogLine
			if err := json.Unmarshal(raw, &lines); err != nil {
				return err
			}
			out.Lines = append(out.Lines, lines...)
			out.Next = seq
			return nil
		})
	})
	return out, err
}

func (s *Server) deploymentLogs(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if err := s.readBarrier(r); err != nil {
		return err
	}
	d, err := s.getDeployment(r)
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
	out, err := s.logsAfter(d, tg, after)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

var watchUpgrader = websocket.Upgrader{ReadBufferSize: 4 << 10, WriteBufferSize: 32 << 10}

// deploymentWatch streams a deployment over a websocket: the deployment whenever it changes and
// its output lines as they commit, until it has finished and everything was sent. It is closed
// (1008, with the reason) when its token is revoked, through any server, or expires: the stream
// wakes on every applied entry, so it sees the revocation as soon as this server applies it.
// Like /v1/events, it holds one of its token's Limits.MaxStreamsPerToken slots until it ends.
func (s *Server) deploymentWatch(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	d, err := s.getDeployment(r)
	if err != nil {
		return err
	}
	release, err := s.openStream(id)
	if err != nil {
		return err
	}
	defer release()
	ws, err := watchUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return nil // the upgrader has answered
	}
	defer func() { _ = ws.Close() }()
	ws.SetReadLimit(maxClientMessage)
	ctx, cancel := s.untilExpiry(r.Context(), id)
	defer cancel()
	go func() { // the client only closes; reading notices it
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				cancel()
				return
			}
		}
	}()
	send := func(m pub.WatchMessage) bool {
		_ = ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
		return ws.WriteJSON(m) == nil
	}
	var lastIndex uint64
	after := map[string]uint64{}
	for {
		idx := s.cfg.Cluster.AppliedIndex()
		if why := s.streamEnd(id); why != "" {
			closeStream(ws, why)
			return nil
		}
		if d, err = s.getDeployment(r); err != nil {
			return nil
		}
		for _, tg := range d.Targets {
			logs, err := s.logsAfter(d, tg, after[tg.HostID])
			if err == nil && len(logs.Lines) > 0 {
				if !send(pub.WatchMessage{Host: tg.HostName, Lines: logs.Lines}) {
					return nil
				}
				after[tg.HostID] = logs.Next
			}
		}
		if d.ModifyIndex != lastIndex {
			v := deploymentView(d)
			if !send(pub.WatchMessage{Deployment: &v}) {
				return nil
			}
			lastIndex = d.ModifyIndex
		}
		if d.EndTime != nil {
			_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, d.Status), time.Now().Add(time.Second))
			return nil
		}
		wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
		_ = s.cfg.Cluster.WaitApplied(wctx, idx+1)
		wcancel()
		if ctx.Err() != nil {
			if errors.Is(context.Cause(ctx), errTokenExpired) {
				closeStream(ws, reasonExpired)
			}
			return nil
		}
	}
}

func (s *Server) deploymentStop(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	var req pub.DeploymentStopRequest
	if r.ContentLength != 0 {
		if err := s.decode(w, r, &req); err != nil {
			return err
		}
	}
	res, err := s.apply(r, id, command.TypeDeploymentStop, command.DeploymentStop{DeploymentID: r.PathValue("id"), Rollback: req.Rollback})
	if err != nil {
		return err
	}
	var d state.Deployment
	if err := decodeData(res, &d); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, deploymentView(d))
	return nil
}
