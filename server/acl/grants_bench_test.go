package acl_test

import (
	"fmt"
	"strings"
	"testing"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/acl"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/policy"
	"github.com/slipwayhq/slipway/server/core/state"
)

// BenchmarkAuthorizerUser10x20 is what the edge does per request for a user whose grants are
// ten customer policies of twenty statements (five attached to the user, five to a group): the
// authorizer's grants (one read of the generation, the cache hit) and their evaluation, the
// allowing statement being the last of the last policy.
func BenchmarkAuthorizerUser10x20(b *testing.B) {
	t := b
	s := &seq{t: t, f: newFSM(t)}
	ok(t, run(s, acl.CmdUserCreate, acl.UserCreatePayload{ID: "u1", Name: "ana"}))
	ok(t, run(s, acl.CmdGroupCreate, acl.GroupCreatePayload{Name: "dev"}))
	ok(t, run(s, acl.CmdGroupMember, acl.GroupMemberPayload{Group: "dev", User: "ana", Add: true}))
	for i := 0; i < 10; i++ {
		var st []string
		for j := 0; j < 20; j++ {
			action, resource := fmt.Sprintf("codedeploy:Get%dThing%d", i, j), fmt.Sprintf("srn:slipway:codedeploy:app/app-%d-%d/*", i, j)
			if i == 9 && j == 19 {
				action, resource = "kv:PutKey", "srn:slipway:kv:key/bench-*"
			}
			st = append(st, fmt.Sprintf(`{"Effect":"Allow","Action":[%q,"codedeploy:List*"],"Resource":[%q],"Condition":{"Bool":{"slipway:SecureTransport":"false"}}}`, action, resource))
		}
		name := fmt.Sprintf("p%d", i)
		ok(t, run(s, acl.CmdPolicyCreate, acl.PolicyPutPayload{Name: name, Document: `{"Version":"2012-10-17","Statement":[` + strings.Join(st, ",") + `]}`}))
		kind, target := acl.KindUser, "ana"
		if i >= 5 {
			kind, target = acl.KindGroup, "dev"
		}
		ok(t, run(s, acl.CmdPolicyAttach, acl.PolicyAttachPayload{Policy: name, Kind: kind, Target: target, Attach: true}))
	}
	a := acl.NewAuthorizer(&module.Core{State: s.f.Store()})
	id := &auth.Identity{Token: state.Token{AccessorID: "t1", Type: pub.TokenTypeUser, User: "ana"}}
	req := policy.Request{Action: "kv:PutKey", Resource: "srn:slipway:kv:key/bench-1",
		Context: []policy.ContextValue{{Key: policy.KeySecureTransport, Value: "false"}}}
	if !acl.Decider(a.GrantsFor(id)).Decide(req).Allowed() {
		b.Fatal("not allowed")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if !acl.Decider(a.GrantsFor(id)).Decide(req).Allowed() {
			b.Fatal("not allowed")
		}
	}
}
