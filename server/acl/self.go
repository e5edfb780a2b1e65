package acl

import (
	"sync"

	"github.com/slipwayhq/slipway/server/core/policy"
)

// SelfServiceActions are what a signed-in user may do to their own user without any policy,
// as IAM's ${aws:username} policies let users manage their own credentials: change their
// password, make and list their own tokens, manage their SSH keys and their MFA device (turning
// MFA off needs a session opened with MFA). They apply to sign-in sessions only: a personal
// access token (perhaps narrowed) cannot mint an unnarrowed one.
var SelfServiceActions = []string{
	"iam:GetUser", "iam:ChangePassword", "iam:CreateToken", "iam:ListTokens",
	"iam:UploadSSHPublicKey", "iam:ListSSHPublicKeys", "iam:DeleteSSHPublicKey",
	"iam:EnableMFADevice", "iam:ConfirmMFADevice",
}

// whoAmI lets a role session ask who it is, as every principal but a bare service token may.
var whoAmI = sync.OnceValue(func() *policy.Policy { return selfPolicy("", false) })

// selfPolicy is a user's implicit self-service policy. session says the token is a sign-in
// session (else only sts:GetCallerIdentity).
func selfPolicy(user string, session bool) *policy.Policy {
	doc := &policy.Document{Version: policy.VersionSlipway, Statement: []policy.Statement{
		{Sid: "WhoAmI", Effect: policy.EffectAllow, Action: []string{"sts:GetCallerIdentity"}, Resource: []string{"*"}},
	}}
	if session {
		res := []string{UserSRN(user)}
		doc.Statement = append(doc.Statement,
			policy.Statement{Sid: "Console", Effect: policy.EffectAllow, Action: []string{"console:*"}, Resource: []string{"*"}},
			policy.Statement{Sid: "OwnCredentials", Effect: policy.EffectAllow, Action: SelfServiceActions, Resource: res},
			policy.Statement{Sid: "OwnMFAOff", Effect: policy.EffectAllow, Action: []string{"iam:DeactivateMFADevice"}, Resource: res,
				Condition: []policy.Condition{{Operator: "Bool", Key: policy.KeyMultiFactorAuthPresent, Values: []string{"true"}}}},
		)
	}
	p, err := policy.Compile("SelfService", doc)
	if err != nil {
		return nil // a user name is a valid resource; Compile cannot refuse this document
	}
	return p
}
