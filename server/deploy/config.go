package deploy

import (
	"context"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/deploy/rollout"
)

// Configs is the deployment configurations' Go API: the built-in ones (rollout.Builtins) and the
// custom ones operators create.
type Configs struct{ core *module.Core }

// Configs returns the deployment configurations' API.
func (m *Module) Configs() *Configs { return &Configs{core: m.core} }

// Create creates a custom configuration. Its name is checked before anything is proposed (for a
// fast answer) and again, with its rule, when the command applies (authoritatively).
func (s *Configs) Create(ctx context.Context, req pub.DeploymentConfig) (pub.DeploymentConfig, error) {
	if err := state.ValidateName("deployment config", req.Name); err != nil {
		return pub.DeploymentConfig{}, err
	}
	if isBuiltin(req.Name) {
		return pub.DeploymentConfig{}, fault.New(fault.Conflict, "%q is a built-in configuration", req.Name)
	}
	res, err := command.Propose(ctx, s.core.Cluster, CmdConfigCreate, s.core.Now(), ConfigCreatePayload{Name: req.Name, Kind: req.Kind, Value: req.Value})
	if err != nil {
		return pub.DeploymentConfig{}, err
	}
	dc, err := command.Data[DeploymentConfig](res)
	if err != nil {
		return pub.DeploymentConfig{}, err
	}
	return pub.DeploymentConfig{Name: dc.Name, Kind: dc.Kind, Value: dc.Value}, nil
}

// List returns the built-in configurations, then the custom ones in name order.
func (s *Configs) List() ([]pub.DeploymentConfig, error) {
	var out []pub.DeploymentConfig
	for _, b := range rollout.Builtins() {
		out = append(out, builtinView(b))
	}
	err := s.core.State.View(func(tx *state.Tx) error {
		list, err := listConfigs(tx)
		for _, c := range list {
			out = append(out, pub.DeploymentConfig{Name: c.Name, Kind: c.Kind, Value: c.Value})
		}
		return err
	})
	return out, err
}

func builtinView(b rollout.Config) pub.DeploymentConfig {
	return pub.DeploymentConfig{Name: b.Name, Kind: string(b.Kind), Value: b.Value, Builtin: true, AWSName: rollout.AWSName(b.Name)}
}

// Get returns a configuration by name (a built-in one by its short or AWS name) with the groups
// that use it.
func (s *Configs) Get(name string) (pub.DeploymentConfig, error) {
	if err := state.ValidateName("deployment config", name); err != nil {
		return pub.DeploymentConfig{}, err
	}
	var out pub.DeploymentConfig
	err := s.core.State.View(func(tx *state.Tx) error {
		if b, ok := rollout.Builtin(name); ok {
			out = builtinView(b)
		} else {
			dc, ok, err := getDeploymentConfig(tx, name)
			if err != nil {
				return err
			}
			if !ok {
				return fault.New(fault.NotFound, "deployment config %q not found: see slipway config list", name)
			}
			out = pub.DeploymentConfig{Name: dc.Name, Kind: dc.Kind, Value: dc.Value}
		}
		var err error
		out.UsedBy, err = groupsUsing(tx, out.Name)
		return err
	})
	return out, err
}

// Delete removes a custom configuration: a built-in one cannot be deleted, and one that a group
// uses is a conflict naming the groups (checked when the command applies).
func (s *Configs) Delete(ctx context.Context, name string) error {
	if err := state.ValidateName("deployment config", name); err != nil {
		return err
	}
	_, err := command.Propose(ctx, s.core.Cluster, CmdConfigDelete, s.core.Now(), ConfigDeletePayload{Name: name})
	return err
}
