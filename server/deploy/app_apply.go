package deploy

import (
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/state"
)

// The applications' commands. Numbers, names, versions and the payloads' JSON are the log
// format: never change them.
var (
	CmdAppCreate = command.Define[AppCreatePayload](20, "app.create", 1)
	CmdAppDelete = command.Define[AppDeletePayload](21, "app.delete", 1)
	CmdAppUpdate = command.Define[AppUpdatePayload](22, "app.update", 1)
)

// AppCreatePayload creates an application.
type AppCreatePayload struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// AppUpdatePayload replaces an application's mutable fields. A non-zero CAS is a precondition:
// the update applies only while the application's ModifyIndex equals it (check-and-set).
type AppUpdatePayload struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	CAS         uint64 `json:"cas,omitempty"`
}

// AppDeletePayload deletes an application (and its revisions).
type AppDeletePayload struct {
	Name string `json:"name"`
}

func (m *Module) applyAppCreate(tx *state.Tx, index uint64, c *command.Command, p AppCreatePayload) (any, error) {
	a := App{Name: p.Name, Description: p.Description, CreateTime: c.Time, CreateIndex: index, ModifyIndex: index}
	if err := createApp(tx, a); err != nil {
		return nil, err
	}
	return a, nil
}

func (m *Module) applyAppUpdate(tx *state.Tx, index uint64, _ *command.Command, p AppUpdatePayload) (any, error) {
	return updateApp(tx, p.Name, p.Description, p.CAS, index)
}

func (m *Module) applyAppDelete(tx *state.Tx, _ uint64, _ *command.Command, p AppDeletePayload) (any, error) {
	if err := deleteApp(tx, p.Name); err != nil {
		return nil, err
	}
	return nil, deleteRevisionsOfApp(tx, p.Name)
}
