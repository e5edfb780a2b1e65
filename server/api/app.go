package api

import (
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/auth"
	"github.com/slipwayhq/slipway/server/command"
	"github.com/slipwayhq/slipway/server/state"
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
