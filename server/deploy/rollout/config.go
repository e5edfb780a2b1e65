package rollout

import (
	"errors"
	"fmt"
	"strings"
)

// Kind is how a deployment configuration states its minimum of healthy hosts.
type Kind string

// Kinds. Custom configurations are HostCount or FleetPercent; MostConcurrency is reserved for the
// built-in OneAtATime.
const (
	// HostCount: the minimum is Value hosts (Value >= 0).
	HostCount Kind = "HOST_COUNT"
	// FleetPercent: the minimum is Value percent (0-99) of the hosts in the deployment, turned into
	// a host count at Start and rounded up.
	FleetPercent Kind = "FLEET_PERCENT"
	// MostConcurrency: at most Value hosts in flight, and all hosts healthy at start but Value must
	// stay healthy. Only OneAtATime (Value 1) has it, as in CodeDeploy.
	MostConcurrency Kind = "MOST_CONCURRENCY"
)

// Names of the built-in configurations.
const (
	OneAtATime  = "OneAtATime"
	HalfAtATime = "HalfAtATime"
	AllAtOnce   = "AllAtOnce"
	// Default is used when a group or deployment names no configuration.
	Default = OneAtATime
)

// Sentinel errors, for errors.Is.
var (
	// ErrInvalidConfig: a configuration that Validate rejects.
	ErrInvalidConfig = errors.New("invalid deployment configuration")
	// ErrInvalid: Start was given hosts or a target it cannot use.
	ErrInvalid = errors.New("invalid rollout")
	// ErrTooFewHealthy: the minimum of healthy hosts is >= the hosts healthy at start, so the
	// deployment fails at once.
	ErrTooFewHealthy = errors.New("too few healthy hosts")
)

// Config is a deployment configuration: how many hosts must stay healthy during a deployment.
type Config struct {
	Name  string `json:"name"`
	Kind  Kind   `json:"kind"`
	Value int    `json:"value"`
}

var builtins = []Config{
	{Name: OneAtATime, Kind: MostConcurrency, Value: 1},
	{Name: HalfAtATime, Kind: FleetPercent, Value: 50},
	{Name: AllAtOnce, Kind: HostCount, Value: 0},
}

// AWSPrefix starts the names AWS CodeDeploy gives the built-in configurations
// (CodeDeployDefault.OneAtATime); each built-in answers to its short name and to its AWS name.
const AWSPrefix = "CodeDeployDefault."

// Canonical is the short name of a built-in configuration named either way (AWSName(OneAtATime)
// and OneAtATime are both OneAtATime); any other name is returned as it is. Records store the
// canonical name.
func Canonical(name string) string {
	if short, ok := strings.CutPrefix(name, AWSPrefix); ok {
		for _, c := range builtins {
			if c.Name == short {
				return short
			}
		}
	}
	return name
}

// AWSName is the name AWS CodeDeploy gives the built-in configuration short (a short name, as in
// Builtins), e.g. CodeDeployDefault.OneAtATime.
func AWSName(short string) string { return AWSPrefix + short }

// Builtin returns the built-in configuration with that name, short or AWS's (see Canonical); the
// configuration returned carries the short name.
func Builtin(name string) (Config, bool) {
	name = Canonical(name)
	for _, c := range builtins {
		if c.Name == name {
			return c, true
		}
	}
	return Config{}, false
}

// Builtins returns the built-in configurations, the default first.
func Builtins() []Config { return append([]Config(nil), builtins...) }

// Validate reports whether c is a built-in configuration or a well-formed custom one: a non-empty
// name that is not a built-in's, and HOST_COUNT >= 0 or FLEET_PERCENT 0-99. Errors wrap
// ErrInvalidConfig and name the field to fix.
//
// Only a built-in's short name is a built-in here: a configuration applied from the log under an
// AWS name is checked as the release before AWS names checked it (as a custom one).
func (c Config) Validate() error {
	if b, ok := Builtin(c.Name); ok && b.Name == c.Name {
		if c != b {
			return fmt.Errorf("%w: %q is a built-in configuration (%s %d) and cannot be redefined", ErrInvalidConfig, c.Name, b.Kind, b.Value)
		}
		return nil
	}
	if c.Name == "" {
		return fmt.Errorf("%w: name is required", ErrInvalidConfig)
	}
	switch c.Kind {
	case HostCount:
		if c.Value < 0 {
			return fmt.Errorf("%w: config %q: min-healthy-hosts must be >= 0, got %d", ErrInvalidConfig, c.Name, c.Value)
		}
	case FleetPercent:
		if c.Value < 0 || c.Value > 99 {
			return fmt.Errorf("%w: config %q: min-healthy-percent must be 0-99, got %d", ErrInvalidConfig, c.Name, c.Value)
		}
	case MostConcurrency:
		return fmt.Errorf("%w: config %q: kind %s is reserved for %s; use %s or %s", ErrInvalidConfig, c.Name, c.Kind, OneAtATime, HostCount, FleetPercent)
	default:
		return fmt.Errorf("%w: config %q: kind must be %s or %s, got %q", ErrInvalidConfig, c.Name, HostCount, FleetPercent, c.Kind)
	}
	return nil
}

// limits turns c into the minimum of healthy hosts and the cap on hosts in flight (0: no cap other
// than the minimum) for a deployment to n hosts, healthy of which are healthy at start. c must be
// valid.
func (c Config) limits(n, healthy int) (minHealthy, maxInFlight int) {
	switch c.Kind {
	case FleetPercent:
		return (c.Value*n + 99) / 100, 0
	case MostConcurrency:
		return max(healthy-c.Value, 0), c.Value
	default:
		return c.Value, 0
	}
}
