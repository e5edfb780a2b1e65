package deploy

import (
	"slices"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// The triggers' commands. Numbers, names, versions and the payloads' JSON are the log format:
// never change them.
var (
	cmdTriggerPut       = command.Define[TriggerPutPayload](1120, "group.trigger_put", 1)
	cmdTriggerDelete    = command.Define[TriggerDeletePayload](1121, "group.trigger_delete", 1)
	cmdTriggerDelivered = command.Define[TriggerDeliveredPayload](1122, "trigger.delivered", 1)
)

// TriggerPutPayload adds a trigger to a group. GroupID is the group's ID when the secret was
// sealed (its additional data names it): a group deleted and made again since is refused.
type TriggerPutPayload struct {
	App     string  `json:"app"`
	Group   string  `json:"group"`
	GroupID string  `json:"group_id"`
	Trigger Trigger `json:"trigger"`
}

// TriggerDeletePayload removes a trigger from a group.
type TriggerDeletePayload struct {
	App   string `json:"app"`
	Group string `json:"group"`
	Name  string `json:"name"`
}

// TriggerDeliveredPayload removes events from the outbox: delivered, or given up on (the
// leader's delivery task proposes it).
type TriggerDeliveredPayload struct {
	IDs []string `json:"ids"`
}

func (m *Module) applyTriggerPut(tx *state.Tx, _ uint64, _ *command.Command, p TriggerPutPayload) (any, error) {
	g, err := getGroup(tx, p.App, p.Group)
	if err != nil {
		return nil, err
	}
	if g.ID != p.GroupID {
		return nil, fault.New(fault.Conflict, "deployment group %q of app %q was deleted and made again while the trigger was added: add it again", p.Group, p.App)
	}
	events, err := checkTrigger(p.Trigger.Name, p.Trigger.Events, p.Trigger.URL)
	if err != nil {
		return nil, err
	}
	if len(p.Trigger.Secret) == 0 {
		return nil, fault.New(fault.Invalid, "trigger %s has no secret", p.Trigger.Name)
	}
	have := groupTriggers(tx, g.ID)
	if slices.ContainsFunc(have, func(t Trigger) bool { return t.Name == p.Trigger.Name }) {
		return nil, fault.New(fault.Conflict, "group %q already has a trigger %q: remove it first (slipway group trigger remove --app %s %s %s)",
			p.Group, p.Trigger.Name, p.App, p.Group, p.Trigger.Name)
	}
	if len(have) >= MaxTriggersPerGroup {
		return nil, fault.New(fault.Invalid, "group %q has %d triggers, the most a group may have: remove one first", p.Group, len(have))
	}
	t := p.Trigger
	t.Events = events
	return nil, putTrigger(tx, g.ID, t)
}

func (m *Module) applyTriggerDelete(tx *state.Tx, _ uint64, _ *command.Command, p TriggerDeletePayload) (any, error) {
	g, err := getGroup(tx, p.App, p.Group)
	if err != nil {
		return nil, err
	}
	if _, ok := getTrigger(tx, g.ID, p.Name); !ok {
		return nil, fault.New(fault.NotFound, "group %q of app %q has no trigger %q: see slipway group trigger list --app %s %s", p.Group, p.App, p.Name, p.App, p.Group)
	}
	return nil, deleteTrigger(tx, g.ID, p.Name)
}

func (m *Module) applyTriggerDelivered(tx *state.Tx, _ uint64, _ *command.Command, p TriggerDeliveredPayload) (any, error) {
	for _, id := range p.IDs {
		if err := outboxDelete(tx, id); err != nil {
			return nil, err
		}
	}
	return nil, nil
}
