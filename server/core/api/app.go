package api

import (
	"net/http"
	"strconv"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

func appView(a state.App) pub.App {
	return pub.App{Name: a.Name, Description: a.Description, CreateTime: a.CreateTime, CreateIndex: a.CreateIndex, ModifyIndex: a.ModifyIndex}
}

func (s *Server) appCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	var req pub.AppCreateRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	// Checked here for a fast answer, and again in apply, which is authoritative.
	if err := state.ValidateName("application", req.Name); err != nil {
		return err
	}
	if err := state.ValidateDescription("application", req.Description); err != nil {
		return err
	}
	res, err := s.apply(r, id, command.TypeAppCreate, command.AppCreate{Name: req.Name, Description: req.Description})
	if err != nil {
		return err
	}
	var a state.App
	if err := decodeData(res, &a); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, appView(a))
	return nil
}

// appUpdate replaces an application's description. ?cas=N makes it conditional on the
// application's ModifyIndex being N (Consul's check-and-set); a mismatch is a 409 conflict.
func (s *Server) appUpdate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	var req pub.AppUpdateRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if err := state.ValidateDescription("application", req.Description); err != nil {
		return err
	}
	var cas uint64
	if v := r.URL.Query().Get("cas"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			return fault.New(fault.Invalid, "cas=%s is not an index: give the modify_index you read (a positive integer), or leave cas out", state.Shorten(v))
		}
		cas = n
	}
	res, err := s.apply(r, id, command.TypeAppUpdate, command.AppUpdate{Name: r.PathValue("name"), Description: req.Description, CAS: cas})
	if err != nil {
		return err
	}
	var a state.App
	if err := decodeData(res, &a); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, appView(a))
	return nil
}

func (s *Server) appList(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	pg, err := pageOf(r)
	if err != nil {
		return err
	}
	if err := s.readBarrier(r); err != nil {
		return err
	}
	out := pub.AppList{Apps: []pub.App{}}
	err = s.cfg.State.View(func(tx *state.Tx) error {
		list, next, err := tx.ListApps(pg.after, pg.limit)
		for _, a := range list {
			out.Apps = append(out.Apps, appView(a))
		}
		out.Next = next
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) appGet(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if err := s.readBarrier(r); err != nil {
		return err
	}
	var a state.App
	err := s.cfg.State.View(func(tx *state.Tx) error {
		var err error
		a, err = tx.GetApp(r.PathValue("name"))
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, appView(a))
	return nil
}

func (s *Server) appDelete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if _, err := s.apply(r, id, command.TypeAppDelete, command.AppDelete{Name: r.PathValue("name")}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
