package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Trigger (bucket deploy/triggers by group ID and name, and in group.trigger_put; its JSON is
// the log format) is a
// deployment group's webhook, CodeDeploy's trigger configuration with an HTTP endpoint in place
// of an SNS topic: the events it takes, of the group's deployments and their hosts, are POSTed
// to URL as JSON signed with the trigger's secret (trigger_deliver.go).
//
// The secret is made by the server that takes the request, shown once in its answer and
// stored sealed under the cluster keyring (Secret; keyring.Ring.Seal with triggerAAD), so the
// state, snapshots and the log hold no usable copy of it.
type Trigger struct {
	Name   string   `json:"name"`
	Events []string `json:"events"` // among TriggerEvents, sorted
	URL    string   `json:"url"`
	Secret []byte   `json:"secret"` // sealed
}

// The trigger events, as CodeDeploy names them. DeploymentReady and InstanceReady belong to
// blue/green deployments: they are accepted, as CodeDeploy accepts them on any group, and an
// in-place deployment (Slipway's only kind) never sends them.
const (
	EventDeploymentStart    = "DeploymentStart"
	EventDeploymentSuccess  = "DeploymentSuccess"
	EventDeploymentFailure  = "DeploymentFailure"
	EventDeploymentStop     = "DeploymentStop"
	EventDeploymentRollback = "DeploymentRollback"
	EventDeploymentReady    = "DeploymentReady"
	EventInstanceStart      = "InstanceStart"
	EventInstanceSuccess    = "InstanceSuccess"
	EventInstanceFailure    = "InstanceFailure"
	EventInstanceReady      = "InstanceReady"
)

// TriggerEvents are the events a trigger can take.
var TriggerEvents = []string{EventDeploymentStart, EventDeploymentSuccess, EventDeploymentFailure, EventDeploymentStop,
	EventDeploymentRollback, EventDeploymentReady, EventInstanceStart, EventInstanceSuccess, EventInstanceFailure, EventInstanceReady}

// Bounds of triggers.
const (
	MaxTriggersPerGroup = 10 // CodeDeploy's limit
	MaxTriggerURL       = 2048
	triggerSecretBytes  = 32
)

// triggerAAD binds a sealed secret to its trigger: a sealed value copied to another trigger or
// group does not open there.
func triggerAAD(groupID, name string) []byte {
	return []byte("deploy-trigger:" + groupID + "/" + name)
}

// checkTrigger checks a trigger's name, events (names of TriggerEvents, at least one; "all"
// stands for every one) and URL (http or https, with a host and no credentials), and returns
// its events sorted without duplicates.
func checkTrigger(name string, events []string, rawURL string) ([]string, error) {
	if err := state.ValidateName("trigger", name); err != nil {
		return nil, err
	}
	var out []string
	for _, e := range events {
		e = strings.TrimSpace(e)
		switch {
		case strings.EqualFold(e, "all"):
			out = append(out, TriggerEvents...)
		case slices.Contains(TriggerEvents, e):
			out = append(out, e)
		default:
			return nil, fault.New(fault.Invalid, "trigger event %s is not one of %s (or all)", state.Shorten(e), strings.Join(TriggerEvents, ", "))
		}
	}
	if len(out) == 0 {
		return nil, fault.New(fault.Invalid, "trigger %s takes no events: name at least one of %s (or all)", name, strings.Join(TriggerEvents, ", "))
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if err := checkTriggerURL(rawURL); err != nil {
		return nil, err
	}
	return out, nil
}

// checkTriggerURL refuses what a trigger must not be sent to: a URL that is not http or https,
// has no host, carries credentials (they would be stored in the clear) or is too long.
func checkTriggerURL(rawURL string) error {
	if len(rawURL) > MaxTriggerURL {
		return fault.New(fault.Invalid, "trigger URL is %d bytes; at most %d are allowed", len(rawURL), MaxTriggerURL)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fault.New(fault.Invalid, "trigger URL %s: want an http:// or https:// URL with a host, such as https://hooks.example.com/slipway", state.Shorten(rawURL))
	}
	if u.User != nil {
		return fault.New(fault.Invalid, "trigger URL %s carries credentials, which would be stored in the clear: authenticate the request by its signature instead", state.Shorten(u.Redacted()))
	}
	return nil
}

// triggerViews is the API's view of triggers: never their secret, and their URL only when
// withURL (the triggers' own list, which needs a management token; a group's view, which any
// token reads, leaves it out).
func triggerViews(ts []Trigger, withURL bool) []pub.Trigger {
	var out []pub.Trigger
	for _, t := range ts {
		v := pub.Trigger{Name: t.Name, Events: t.Events}
		if withURL {
			v.URL = t.URL
		}
		out = append(out, v)
	}
	return out
}

// Triggers is the deployment groups' triggers' Go API.
type Triggers struct{ m *Module }

// Triggers returns the triggers' API.
func (m *Module) Triggers() Triggers { return Triggers{m: m} }

// Add adds a trigger to app's group and returns it with its secret, which is shown this once:
// the state holds it sealed. A trigger of that name already on the group is a conflict (remove
// it first: that is how a secret is rotated).
func (s Triggers) Add(ctx context.Context, app, group string, req pub.TriggerRequest) (pub.TriggerCreated, error) {
	events, err := checkTrigger(req.Name, req.Events, req.URL)
	if err != nil {
		return pub.TriggerCreated{}, err
	}
	core := s.m.core
	if err := core.Cluster.ConsistentRead(ctx); err != nil {
		return pub.TriggerCreated{}, err
	}
	var g Group
	if err := core.State.View(func(tx *state.Tx) error {
		g, err = getGroup(tx, app, group)
		return err
	}); err != nil {
		return pub.TriggerCreated{}, err
	}
	raw := make([]byte, triggerSecretBytes)
	if _, err := rand.Read(raw); err != nil {
		return pub.TriggerCreated{}, err
	}
	secret := "whsec_" + hex.EncodeToString(raw)
	sealed, err := core.Keyring.Seal([]byte(secret), triggerAAD(g.ID, req.Name))
	if err != nil {
		return pub.TriggerCreated{}, err
	}
	if _, err := command.Propose(ctx, core.Cluster, cmdTriggerPut, core.Now(), TriggerPutPayload{App: app, Group: group, GroupID: g.ID,
		Trigger: Trigger{Name: req.Name, Events: events, URL: req.URL, Secret: sealed}}); err != nil {
		return pub.TriggerCreated{}, err
	}
	return pub.TriggerCreated{Trigger: pub.Trigger{Name: req.Name, Events: events, URL: req.URL}, Secret: secret}, nil
}

// List returns app's group's triggers, without their secrets.
func (s Triggers) List(app, group string) ([]pub.Trigger, error) {
	var out []pub.Trigger
	err := s.m.core.State.View(func(tx *state.Tx) error {
		g, err := getGroup(tx, app, group)
		out = triggerViews(groupTriggers(tx, g.ID), true)
		return err
	})
	if out == nil {
		out = []pub.Trigger{}
	}
	return out, err
}

// Remove removes a trigger from app's group; its events not delivered yet are dropped.
func (s Triggers) Remove(ctx context.Context, app, group, name string) error {
	_, err := command.Propose(ctx, s.m.core.Cluster, cmdTriggerDelete, s.m.core.Now(), TriggerDeletePayload{App: app, Group: group, Name: name})
	return err
}
