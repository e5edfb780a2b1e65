package acl

import (
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/policy"
)

// Decider evaluates requests against grants as the API edge does (policies, then the scope).
func Decider(g api.Grants) interface {
	Decide(policy.Request) policy.Decision
} {
	return decider{g}
}

type decider struct{ g api.Grants }

func (d decider) Decide(req policy.Request) policy.Decision { return api.Decide(req, d.g) }
