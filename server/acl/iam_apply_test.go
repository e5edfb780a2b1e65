package acl_test

import (
	"strings"
	"testing"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/acl"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/policy"
	"github.com/slipwayhq/slipway/server/core/state"
)

// seq applies commands at increasing indexes.
type seq struct {
	t testing.TB
	f *fsm.FSM
	i uint64
}

func run[T any](s *seq, d command.Def[T], p T) command.Result {
	s.t.Helper()
	s.i++
	return apply(s.t, s.f, s.i, d, p)
}

func ok(t testing.TB, r command.Result) {
	t.Helper()
	if r.Code != "" {
		t.Fatalf("refused: %s %s", r.Code, r.Message)
	}
}

func refused(t *testing.T, r command.Result, code fault.Code, text string) {
	t.Helper()
	if r.Code != string(code) || !strings.Contains(r.Message, text) {
		t.Fatalf("got %q %q; want %s containing %q", r.Code, r.Message, code, text)
	}
}

const shopRead = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["codedeploy:Get*","codedeploy:List*"],"Resource":["srn:slipway:codedeploy:app/shop"]}]}`
const shopDeny = `{"Version":"2012-10-17","Statement":[{"Sid":"NoShop","Effect":"Deny","Action":"codedeploy:GetApplication","Resource":"*"}]}`

func allowed(g interface {
	Decide(policy.Request) policy.Decision
}, action, resource string) bool {
	return g.Decide(policy.Request{Action: action, Resource: resource}).Allowed()
}

func TestUsersGroupsAndAttachments(t *testing.T) {
	s := &seq{t: t, f: newFSM(t)}
	ok(t, run(s, acl.CmdUserCreate, acl.UserCreatePayload{ID: "u1", Name: "ana"}))
	refused(t, run(s, acl.CmdUserCreate, acl.UserCreatePayload{ID: "u2", Name: "ana"}), fault.Conflict, "already exists")
	ok(t, run(s, acl.CmdGroupCreate, acl.GroupCreatePayload{Name: "dev"}))
	ok(t, run(s, acl.CmdGroupMember, acl.GroupMemberPayload{Group: "dev", User: "ana", Add: true}))
	refused(t, run(s, acl.CmdGroupMember, acl.GroupMemberPayload{Group: "ops", User: "ana", Add: true}), fault.NotFound, `group "ops" not found`)
	ok(t, run(s, acl.CmdPolicyCreate, acl.PolicyPutPayload{Name: "shop-read", Document: shopRead}))
	refused(t, run(s, acl.CmdPolicyCreate, acl.PolicyPutPayload{Name: policy.AdministratorAccess, Document: shopRead}), fault.Conflict, "built-in")
	refused(t, run(s, acl.CmdPolicyAttach, acl.PolicyAttachPayload{Policy: "nope", Kind: acl.KindUser, Target: "ana", Attach: true}), fault.NotFound, `policy "nope" not found`)
	ok(t, run(s, acl.CmdPolicyAttach, acl.PolicyAttachPayload{Policy: "shop-read", Kind: acl.KindGroup, Target: "dev", Attach: true}))
	refused(t, run(s, acl.CmdPolicyDelete, acl.NamePayload{Name: "shop-read"}), fault.Conflict, "attached to group dev")

	// A user's token resolves to the group's policy; a change is seen at once (the cache follows
	// the generation).
	a := acl.NewAuthorizer(&module.Core{State: s.f.Store()})
	tk := state.Token{AccessorID: "t1", Type: pub.TokenTypeUser, User: "ana"}
	g := acl.Decider(a.GrantsFor(&auth.Identity{Token: tk}))
	if !allowed(g, "codedeploy:GetApplication", "srn:slipway:codedeploy:app/shop") || allowed(g, "codedeploy:GetApplication", "srn:slipway:codedeploy:app/web") {
		t.Fatal("the group's policy does not decide")
	}
	ok(t, run(s, acl.CmdPolicyCreate, acl.PolicyPutPayload{Name: "no-shop", Document: shopDeny}))
	ok(t, run(s, acl.CmdPolicyAttach, acl.PolicyAttachPayload{Policy: "no-shop", Kind: acl.KindUser, Target: "ana", Attach: true}))
	g = acl.Decider(a.GrantsFor(&auth.Identity{Token: tk}))
	if allowed(g, "codedeploy:GetApplication", "srn:slipway:codedeploy:app/shop") {
		t.Fatal("an explicit deny attached later does not win")
	}
	// Leaving the group takes its policies away.
	ok(t, run(s, acl.CmdGroupMember, acl.GroupMemberPayload{Group: "dev", User: "ana", Add: false}))
	g = acl.Decider(a.GrantsFor(&auth.Identity{Token: tk}))
	if allowed(g, "codedeploy:ListApplications", "srn:slipway:codedeploy:app/shop") {
		t.Fatal("a former member keeps the group's policy")
	}
	// Deleting the group takes its members out; deleting the user takes their tokens and keys.
	ok(t, run(s, acl.CmdGroupMember, acl.GroupMemberPayload{Group: "dev", User: "ana", Add: true}))
	ok(t, run(s, acl.CmdGroupDelete, acl.NamePayload{Name: "dev"}))
	ok(t, run(s, acl.CmdCreateToken, acl.CreateTokenPayload{Token: acl.Token{AccessorID: "t1", SecretHash: strings.Repeat("a", 64), Name: "ana", Type: pub.TokenTypeUser, User: "ana"}}))
	refused(t, run(s, acl.CmdCreateToken, acl.CreateTokenPayload{Token: acl.Token{AccessorID: "t2", SecretHash: strings.Repeat("b", 64), Name: "x", Type: pub.TokenTypeUser, User: "ghost"}}), fault.NotFound, `user "ghost" not found`)
	refused(t, run(s, acl.CmdPolicyAttach, acl.PolicyAttachPayload{Policy: "shop-read", Kind: acl.KindToken, Target: "t1", Attach: true}), fault.Invalid, "attach policies to its user")
	ok(t, run(s, acl.CmdSSHKeyAdd, acl.SSHKeyAddPayload{User: "ana", Fingerprint: "SHA256:x", Type: "ssh-ed25519", PublicKey: "ssh-ed25519 AAAA"}))
	refused(t, run(s, acl.CmdSSHKeyAdd, acl.SSHKeyAddPayload{User: "ana", Fingerprint: "SHA256:x", Type: "ssh-ed25519", PublicKey: "ssh-ed25519 AAAA"}), fault.Conflict, "belongs to user ana")
	ok(t, run(s, acl.CmdUserDelete, acl.NamePayload{Name: "ana"}))
	err := s.f.Store().View(func(tx *state.Tx) error {
		if _, err := tx.GetToken("t1"); fault.CodeOf(err) != fault.NotFound {
			t.Errorf("the user's token outlives them: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ok(t, run(s, acl.CmdUserCreate, acl.UserCreatePayload{ID: "u3", Name: "bo"}))
	ok(t, run(s, acl.CmdSSHKeyAdd, acl.SSHKeyAddPayload{User: "bo", Fingerprint: "SHA256:x", Type: "ssh-ed25519", PublicKey: "ssh-ed25519 AAAA"}))
	// A deleted user's token resolves to nothing.
	g = acl.Decider(a.GrantsFor(&auth.Identity{Token: tk}))
	if allowed(g, "sts:GetCallerIdentity", "*") {
		t.Fatal("a deleted user's token still has policies")
	}
}

func TestTokenScopeNarrowsTheUser(t *testing.T) {
	s := &seq{t: t, f: newFSM(t)}
	ok(t, run(s, acl.CmdUserCreate, acl.UserCreatePayload{ID: "u1", Name: "ana"}))
	ok(t, run(s, acl.CmdPolicyAttach, acl.PolicyAttachPayload{Policy: policy.AdministratorAccess, Kind: acl.KindUser, Target: "ana", Attach: true}))
	a := acl.NewAuthorizer(&module.Core{State: s.f.Store()})
	tk := state.Token{AccessorID: "t1", Type: pub.TokenTypeUser, User: "ana", Scope: shopRead}
	g := acl.Decider(a.GrantsFor(&auth.Identity{Token: tk}))
	if !allowed(g, "codedeploy:GetApplication", "srn:slipway:codedeploy:app/shop") {
		t.Fatal("the scope refuses what it allows")
	}
	if allowed(g, "codedeploy:DeleteApplication", "srn:slipway:codedeploy:app/shop") || allowed(g, "iam:CreateUser", "srn:slipway:iam:user/*") {
		t.Fatal("a scoped token does what its user may but its scope does not allow")
	}
	// The scope allows nothing the user may not.
	tk.User, tk.AccessorID = "nobody", "t2"
	if allowed(acl.Decider(a.GrantsFor(&auth.Identity{Token: tk})), "codedeploy:GetApplication", "srn:slipway:codedeploy:app/shop") {
		t.Fatal("a scope grants on its own")
	}
}

func TestMFAUseRefusesReplays(t *testing.T) {
	s := &seq{t: t, f: newFSM(t)}
	ok(t, run(s, acl.CmdUserCreate, acl.UserCreatePayload{ID: "u1", Name: "ana"}))
	refused(t, run(s, acl.CmdMFAConfirm, acl.MFAConfirmPayload{Name: "ana", Counter: 5}), fault.Conflict, "no MFA enrolment")
	ok(t, run(s, acl.CmdMFAEnroll, acl.MFAEnrollPayload{Name: "ana", SealedSecret: []byte("sealed")}))
	ok(t, run(s, acl.CmdMFAConfirm, acl.MFAConfirmPayload{Name: "ana", Counter: 5, RecoveryHashes: []string{"h1", "h2"}}))
	refused(t, run(s, acl.CmdMFAEnroll, acl.MFAEnrollPayload{Name: "ana", SealedSecret: []byte("again")}), fault.Conflict, "already has MFA")
	refused(t, run(s, acl.CmdMFAUse, acl.MFAUsePayload{Name: "ana", Counter: 5}), fault.Unauthorized, "already used")
	ok(t, run(s, acl.CmdMFAUse, acl.MFAUsePayload{Name: "ana", Counter: 6}))
	refused(t, run(s, acl.CmdMFAUse, acl.MFAUsePayload{Name: "ana", Counter: 6}), fault.Unauthorized, "already used")
	ok(t, run(s, acl.CmdMFAUse, acl.MFAUsePayload{Name: "ana", RecoveryHash: "h2"}))
	refused(t, run(s, acl.CmdMFAUse, acl.MFAUsePayload{Name: "ana", RecoveryHash: "h2"}), fault.Unauthorized, "already used")
}

func TestExpiredTokensAreDeleted(t *testing.T) {
	s := &seq{t: t, f: newFSM(t)}
	exp := func(acc string, c byte, at int64) acl.Token {
		tk := token(acc, c)
		tk.ExpirationTime = at
		return tk
	}
	ok(t, run(s, acl.CmdCreateToken, acl.CreateTokenPayload{Token: exp("a", 'a', 100)}))
	ok(t, run(s, acl.CmdCreateToken, acl.CreateTokenPayload{Token: exp("b", 'b', 300)}))
	ok(t, run(s, acl.CmdCreateToken, acl.CreateTokenPayload{Token: token("c", 'c')})) // never expires
	ok(t, run(s, acl.CmdCreateToken, acl.CreateTokenPayload{Token: exp("d", 'd', 150)}))
	r := run(s, acl.CmdTokenExpire, acl.TokenExpirePayload{Before: 200, Max: 1})
	ok(t, r)
	if string(r.Data) != "1" {
		t.Fatalf("deleted %s with max 1", r.Data)
	}
	ok(t, run(s, acl.CmdTokenExpire, acl.TokenExpirePayload{Before: 200, Max: 1000}))
	var left []string
	_ = s.f.Store().View(func(tx *state.Tx) error {
		return tx.EachToken(func(tk state.Token) bool { left = append(left, tk.AccessorID); return true })
	})
	if strings.Join(left, ",") != "b,c" {
		t.Fatalf("left %v, want b,c", left)
	}
}
