package acl

import (
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
)

// callerIdentity answers who the presented credential is (sts:GetCallerIdentity).
func (m *Module) callerIdentity(id *auth.Identity) pub.CallerIdentity {
	g := m.authz.GrantsFor(id)
	tk := id.Token
	out := pub.CallerIdentity{Kind: string(g.Principal.Kind), Name: g.Principal.Name, ID: g.Principal.ID,
		TokenType: tk.Type, AccessorID: tk.AccessorID, MFA: tk.MFA, Source: tk.Source}
	switch g.Principal.Kind {
	case KindUser:
		out.SRN = UserSRN(g.Principal.Name)
		if u, err := m.Identity().User(tk.User); err == nil {
			out.Policies, out.Groups = u.Policies, u.Groups
		}
	case KindRole:
		out.SRN = api.SRNPrefix + "iam:role/" + tk.Role
		if r, err := m.Identity().Role(tk.Role); err == nil {
			out.Policies = r.Policies
		}
	default:
		out.SRN = api.SRNPrefix + "iam:token/" + tk.AccessorID
		out.Policies = tk.Policies
	}
	if tk.ExpirationTime != nil {
		exp := tk.ExpirationTime.UTC().Truncate(time.Second)
		out.Expiration = &exp
	}
	return out
}
