package acl

import (
	"encoding/binary"
	"time"

	"github.com/slipwayhq/slipway/server/core/state"
)

// The identity service's buckets. Records are JSON, keyed by name (users, groups, policies,
// roles) or by SHA-256 fingerprint (SSH keys).
var (
	bucketUsers    = []byte("acl/users")    // user name -> User
	bucketGroups   = []byte("acl/groups")   // group name -> Group
	bucketPolicies = []byte("acl/policies") // customer policy name -> Policy
	bucketRoles    = []byte("acl/roles")    // role name -> Role
	bucketSSHKeys  = []byte("acl/ssh_keys") // fingerprint -> SSHKey
	bucketMeta     = []byte("acl/meta")     // "generation" -> uint64 (big endian)
)

var keyGeneration = []byte("generation")

// User is a person who signs in. PasswordHash is a PHC argon2id string (credential.HashPassword);
// the password itself never enters the log. Groups and Policies are names (sorted).
type User struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	DisplayName  string     `json:"display_name,omitempty"`
	Email        string     `json:"email,omitempty"`
	PasswordHash string     `json:"password_hash,omitempty"`
	Groups       []string   `json:"groups,omitempty"`
	Policies     []string   `json:"policies,omitempty"`
	MFA          *MFA       `json:"mfa,omitempty"`
	LockedUntil  *time.Time `json:"locked_until,omitempty"`
	CreateTime   time.Time  `json:"create_time"`
	CreateIndex  uint64     `json:"create_index"`
	ModifyIndex  uint64     `json:"modify_index"`
}

// MFA is a user's TOTP enrolment. The secret is sealed with the cluster keyring (never stored
// plain); a pending enrolment (not Confirmed) does not protect sign-in yet. LastCounter is the
// newest time step a code was accepted for: a code is never accepted twice. RecoveryHashes are
// the SHA-256 hashes of the unused one-time recovery codes.
type MFA struct {
	SealedSecret   []byte   `json:"sealed_secret"`
	Confirmed      bool     `json:"confirmed"`
	LastCounter    uint64   `json:"last_counter,omitempty"`
	RecoveryHashes []string `json:"recovery_hashes,omitempty"`
}

// Enabled reports whether the user signs in with a second factor.
func (u *User) Enabled() bool { return u.MFA != nil && u.MFA.Confirmed }

// Group is a named set of users (membership is kept on the users) with attached policies.
type Group struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Policies    []string  `json:"policies,omitempty"`
	CreateTime  time.Time `json:"create_time"`
	CreateIndex uint64    `json:"create_index"`
	ModifyIndex uint64    `json:"modify_index"`
}

// Policy is a customer-managed policy: its document as the client sent it, normalized to JSON
// (policy.Document marshalled), and a version that counts updates.
type Policy struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Document    string    `json:"document"`
	Version     int       `json:"version"`
	CreateTime  time.Time `json:"create_time"`
	UpdateTime  time.Time `json:"update_time"`
	CreateIndex uint64    `json:"create_index"`
	ModifyIndex uint64    `json:"modify_index"`
}

// Role is an identity that users, groups' members and tokens named by its trust list may assume
// for a while (slipway sts assume-role): its own policies apply to the temporary credentials.
type Role struct {
	Name        string        `json:"name"`
	Description string        `json:"description,omitempty"`
	Trust       []string      `json:"trust"`
	RequireMFA  bool          `json:"require_mfa,omitempty"`
	Policies    []string      `json:"policies,omitempty"`
	MaxSession  time.Duration `json:"max_session"`
	CreateTime  time.Time     `json:"create_time"`
	CreateIndex uint64        `json:"create_index"`
	ModifyIndex uint64        `json:"modify_index"`
}

// SSHKey is a user's SSH public key (for the git SSH server). A key belongs to one user.
type SSHKey struct {
	Fingerprint string    `json:"fingerprint"`
	User        string    `json:"user"`
	Type        string    `json:"type"`
	Bits        int       `json:"bits"`
	Comment     string    `json:"comment,omitempty"`
	PublicKey   string    `json:"public_key"`
	AddTime     time.Time `json:"add_time"`
	CreateIndex uint64    `json:"create_index"`
}

// generation is the identity state's change counter: every apply that changes who has which
// policy (users, groups, memberships, policies, attachments, roles) bumps it, so that the
// authorizer's cache of compiled grants knows when to drop what it holds.
func generation(tx *state.Tx) uint64 {
	b := tx.Bucket(bucketMeta).Get(keyGeneration)
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// bump advances the generation to index (the applying command's state index: it only grows).
func bump(tx *state.Tx, index uint64) error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], index)
	return tx.Bucket(bucketMeta).Put(keyGeneration, b[:])
}
