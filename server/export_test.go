package server

import "github.com/slipwayhq/slipway/server/core/api"

// SetPoliciesOverride makes servers started from now on take their callers' grants from p
// instead of the identity service (benchmarks compare authorization with none); the returned
// function restores the default. Not safe while servers start concurrently.
func SetPoliciesOverride(p api.Policies) (restore func()) {
	old := policiesOverride
	policiesOverride = p
	return func() { policiesOverride = old }
}
