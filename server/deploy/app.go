package deploy

import (
	"context"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Apps is the applications' Go API: the HTTP handlers, and later the console and other
// services, create, read, update and delete applications through it, so their rules live here
// once. Writes replicate through the cluster (ctx carries the idempotency key, see
// command.WithRequestID); reads are this server's state.
type Apps struct{ core *module.Core }

// Apps returns the applications' API.
func (m *Module) Apps() *Apps { return &Apps{core: m.core} }

func appView(a App) pub.App {
	return pub.App{Name: a.Name, Description: a.Description, CreateTime: a.CreateTime, CreateIndex: a.CreateIndex, ModifyIndex: a.ModifyIndex}
}

// Create creates an application. Its name and description are checked before anything is
// proposed (for a fast answer) and again when the command applies (authoritatively).
func (s *Apps) Create(ctx context.Context, req pub.AppCreateRequest) (pub.App, error) {
	if err := state.ValidateName("application", req.Name); err != nil {
		return pub.App{}, err
	}
	if err := state.ValidateDescription("application", req.Description); err != nil {
		return pub.App{}, err
	}
	return appResult(command.Propose(ctx, s.core.Cluster, CmdAppCreate, s.core.Now(), AppCreatePayload{Name: req.Name, Description: req.Description}))
}

// Update replaces an application's description. A non-zero cas makes it conditional on the
// application's ModifyIndex being cas (check-and-set); a mismatch is a conflict.
func (s *Apps) Update(ctx context.Context, name string, req pub.AppUpdateRequest, cas uint64) (pub.App, error) {
	if err := state.ValidateDescription("application", req.Description); err != nil {
		return pub.App{}, err
	}
	return appResult(command.Propose(ctx, s.core.Cluster, CmdAppUpdate, s.core.Now(), AppUpdatePayload{Name: name, Description: req.Description, CAS: cas}))
}

// appResult is the application a create or update command answered with.
func appResult(res command.Result, err error) (pub.App, error) {
	if err != nil {
		return pub.App{}, err
	}
	a, err := command.Data[App](res)
	if err != nil {
		return pub.App{}, err
	}
	return appView(a), nil
}

// Delete deletes an application and its revisions.
func (s *Apps) Delete(ctx context.Context, name string) error {
	_, err := command.Propose(ctx, s.core.Cluster, CmdAppDelete, s.core.Now(), AppDeletePayload{Name: name})
	return err
}

// Get returns an application.
func (s *Apps) Get(name string) (pub.App, error) {
	var a App
	err := s.core.State.View(func(tx *state.Tx) error {
		var err error
		a, err = getApp(tx, name)
		return err
	})
	return appView(a), err
}

// List returns a page of applications in name order, and the cursor of the next page ("" at
// the end).
func (s *Apps) List(page api.Page) ([]pub.App, string, error) {
	var out []pub.App
	var next string
	err := s.core.State.View(func(tx *state.Tx) error {
		list, n, err := listApps(tx, page.After, page.Limit)
		for _, a := range list {
			out = append(out, appView(a))
		}
		next = n
		return err
	})
	return out, next, err
}

// Exists checks that an application exists here and, if it is not there, once more after a
// consistent read: it may have been created through another server a moment ago. ctx bounds
// that read.
func (s *Apps) Exists(ctx context.Context, name string) error {
	return s.core.ReadYourWrites(ctx, func() error {
		return s.core.State.View(func(tx *state.Tx) error { _, err := getApp(tx, name); return err })
	})
}
