package acl

import "github.com/slipwayhq/slipway/server/core/command"

// The identity commands (users, groups, policies, roles, SSH keys, MFA). Numbers, names, schema
// versions and payloads are part of the Raft log format: never change them. The proposer
// decides everything non-deterministic (IDs, password hashes, sealed secrets, expiry times);
// apply checks references and conflicts against the state.
var (
	CmdUserCreate   = command.Define[UserCreatePayload](1200, "iam.user.create", 1)
	CmdUserUpdate   = command.Define[UserUpdatePayload](1201, "iam.user.update", 1)
	CmdUserDelete   = command.Define[NamePayload](1202, "iam.user.delete", 1)
	CmdUserPassword = command.Define[UserPasswordPayload](1203, "iam.user.password", 1)
	CmdGroupCreate  = command.Define[GroupCreatePayload](1204, "iam.group.create", 1)
	CmdGroupDelete  = command.Define[NamePayload](1205, "iam.group.delete", 1)
	CmdGroupMember  = command.Define[GroupMemberPayload](1206, "iam.group.member", 1)
	CmdPolicyCreate = command.Define[PolicyPutPayload](1207, "iam.policy.create", 1)
	CmdPolicyUpdate = command.Define[PolicyPutPayload](1208, "iam.policy.update", 1)
	CmdPolicyDelete = command.Define[NamePayload](1209, "iam.policy.delete", 1)
	CmdPolicyAttach = command.Define[PolicyAttachPayload](1210, "iam.policy.attach", 1)
	CmdRoleCreate   = command.Define[RoleCreatePayload](1211, "iam.role.create", 1)
	CmdRoleDelete   = command.Define[NamePayload](1212, "iam.role.delete", 1)
	CmdSSHKeyAdd    = command.Define[SSHKeyAddPayload](1213, "iam.sshkey.add", 1)
	CmdSSHKeyRemove = command.Define[SSHKeyRemovePayload](1214, "iam.sshkey.remove", 1)
	CmdMFAEnroll    = command.Define[MFAEnrollPayload](1215, "iam.mfa.enroll", 1)
	CmdMFAConfirm   = command.Define[MFAConfirmPayload](1216, "iam.mfa.confirm", 1)
	CmdMFADisable   = command.Define[NamePayload](1217, "iam.mfa.disable", 1)
	CmdMFAUse       = command.Define[MFAUsePayload](1218, "iam.mfa.use", 1)
	CmdUserLock     = command.Define[UserLockPayload](1219, "iam.user.lock", 1)
)

// NamePayload names the user, group, policy or role a command acts on.
type NamePayload struct {
	Name string `json:"name"`
}

// UserCreatePayload creates a user; a name already taken is a conflict.
type UserCreatePayload struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	DisplayName  string `json:"display_name,omitempty"`
	Email        string `json:"email,omitempty"`
	PasswordHash string `json:"password_hash,omitempty"`
}

// UserUpdatePayload changes a user's display name and email; nil leaves one as it is.
type UserUpdatePayload struct {
	Name        string  `json:"name"`
	DisplayName *string `json:"display_name,omitempty"`
	Email       *string `json:"email,omitempty"`
}

// UserPasswordPayload sets (or, empty, removes) a user's password hash. RevokeSessions ends the
// user's sign-in sessions except the one named by KeepSession (the caller's own).
type UserPasswordPayload struct {
	Name           string `json:"name"`
	PasswordHash   string `json:"password_hash"`
	RevokeSessions bool   `json:"revoke_sessions,omitempty"`
	KeepSession    string `json:"keep_session,omitempty"`
}

// UserLockPayload locks a user's sign-in until Until (unix nanos), or unlocks it (Until 0).
type UserLockPayload struct {
	Name  string `json:"name"`
	Until int64  `json:"until,omitempty"`
}

// GroupCreatePayload creates a group.
type GroupCreatePayload struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// GroupMemberPayload adds a user to a group (Add) or removes them.
type GroupMemberPayload struct {
	Group string `json:"group"`
	User  string `json:"user"`
	Add   bool   `json:"add"`
}

// PolicyPutPayload creates a customer policy or replaces its document (a new version). The
// document is the normalized JSON the proposer compiled.
type PolicyPutPayload struct {
	Name        string  `json:"name"`
	Description *string `json:"description,omitempty"`
	Document    string  `json:"document"`
}

// Principal kinds a policy attaches to.
const (
	KindUser  = "user"
	KindGroup = "group"
	KindToken = "token"
	KindRole  = "role"
)

// PolicyAttachPayload attaches a policy (managed or customer) to a user, group, token or role,
// or detaches it (Attach false).
type PolicyAttachPayload struct {
	Policy string `json:"policy"`
	Kind   string `json:"kind"`
	Target string `json:"target"`
	Attach bool   `json:"attach"`
}

// RoleCreatePayload creates a role.
type RoleCreatePayload struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Trust       []string `json:"trust"`
	RequireMFA  bool     `json:"require_mfa,omitempty"`
	Policies    []string `json:"policies,omitempty"`
	MaxSession  int64    `json:"max_session"` // nanoseconds
}

// SSHKeyAddPayload adds a parsed SSH public key to a user.
type SSHKeyAddPayload struct {
	User        string `json:"user"`
	Fingerprint string `json:"fingerprint"`
	Type        string `json:"type"`
	Bits        int    `json:"bits"`
	Comment     string `json:"comment,omitempty"`
	PublicKey   string `json:"public_key"`
}

// SSHKeyRemovePayload removes a key; User, when set, must own it.
type SSHKeyRemovePayload struct {
	User        string `json:"user,omitempty"`
	Fingerprint string `json:"fingerprint"`
}

// MFAEnrollPayload starts (or restarts) a user's TOTP enrolment with a sealed secret. An
// enrolment already confirmed is a conflict: disable it first.
type MFAEnrollPayload struct {
	Name         string `json:"name"`
	SealedSecret []byte `json:"sealed_secret"`
}

// MFAConfirmPayload confirms a pending enrolment with the time step of the code the user gave,
// and stores the hashes of the recovery codes shown once.
type MFAConfirmPayload struct {
	Name           string   `json:"name"`
	Counter        uint64   `json:"counter"`
	RecoveryHashes []string `json:"recovery_hashes"`
}

// MFAUsePayload records a second factor used at sign-in: a TOTP time step (refused when not newer
// than the last one used, so a code works once) or a recovery code's hash (refused when not
// among the unused ones, and used up).
type MFAUsePayload struct {
	Name         string `json:"name"`
	Counter      uint64 `json:"counter,omitempty"`
	RecoveryHash string `json:"recovery_hash,omitempty"`
}
