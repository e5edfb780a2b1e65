package command

// The core's own commands. Services define theirs in their own packages (see Define).
var (
	NoopCmd         = Define[Noop](TypeNoop, "noop", 1)
	ClusterInitCmd  = Define[ClusterInit](TypeClusterInit, "cluster.init", 1)
	NodeRegisterCmd = Define[NodeRegister](TypeNodeRegister, "node.register", 1)

	BlobRegisterCmd = Define[BlobRegister](TypeBlobRegister, "blob.register", 1)
	BlobDeleteCmd   = Define[BlobDelete](TypeBlobDelete, "blob.delete", 1)

	HostTokenCreateCmd = Define[HostTokenCreate](TypeHostTokenCreate, "host_token.create", 1)
	// host.register: 1 applied an entry without a token accessor with no checks (written before
	// tokens were checked at apply); 2 always requires the token and checks it, the field bounds,
	// tombstones of IDs and secrets, the token's uses and the maximum of hosts.
	HostRegisterCmd    = Define[HostRegister](TypeHostRegister, "host.register", 2)
	HostDeleteCmd      = Define[HostDelete](TypeHostDelete, "host.delete", 1)
	HostTagCmd         = Define[HostTag](TypeHostTag, "host.tag", 1)
	HostStatusCmd      = Define[HostStatus](TypeHostStatus, "host.status", 1)
	HostTokenRevokeCmd = Define[HostTokenRevoke](TypeHostTokenRevoke, "host_token.revoke", 1)

	KeyringAddCmd = Define[KeyringAdd](TypeKeyringAdd, "keyring.add", 1)
)

// ClusterInit sets the cluster's identity once; later ones are refused.
type ClusterInit struct {
	ClusterID string `json:"cluster_id"`
}

// NodeRegister records how to reach a server node (its HTTP address) next to its Raft identity.
type NodeRegister struct {
	NodeID   string `json:"node_id"`
	RaftAddr string `json:"raft_addr"`
	HTTPAddr string `json:"http_addr"`
	Version  string `json:"version"`
}

// Noop changes nothing; it is used to measure the replication path.
type Noop struct{}

// BlobRegister records a blob that a quorum of servers holds durably.
type BlobRegister struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// BlobDelete forgets an unreferenced blob; servers then remove its bytes.
type BlobDelete struct {
	SHA256 string `json:"sha256"`
}

// HostTokenCreate creates a registration token. AllowTags are the path.Match patterns over
// "key=value" an agent's own tags must match; MaxUses (0: no limit) bounds how many new hosts
// it registers. ExpirationTime is unix nanoseconds, 0 for a token that never expires.
type HostTokenCreate struct {
	AccessorID     string            `json:"accessor_id"`
	SecretHash     string            `json:"secret_hash"`
	Tags           map[string]string `json:"tags,omitempty"`
	ExpirationTime int64             `json:"expiration_time,omitempty"`
	AllowTags      []string          `json:"allow_tags,omitempty"`
	MaxUses        int               `json:"max_uses,omitempty"`
}

// HostRegister registers (or re-registers) a host. Tags are the final tags (the token's plus
// the ones the agent was allowed to add). Token is the accessor of the registration token used: the
// FSM checks it is still there, unexpired at the command's time and, for a new host, not used
// up, and counts the use. MaxHosts (0: no limit) is the proposer's agents.max_hosts. A schema
// version 1 entry without Token was written before these checks and is applied as it was then;
// from version 2 on Token is required and every check applies.
type HostRegister struct {
	HostID       string            `json:"host_id"`
	SecretHash   string            `json:"secret_hash"`
	Name         string            `json:"name"`
	Tags         map[string]string `json:"tags,omitempty"`
	Hostname     string            `json:"hostname"`
	OS           string            `json:"os"`
	Arch         string            `json:"arch"`
	AgentVersion string            `json:"agent_version"`
	Token        string            `json:"token_accessor,omitempty"`
	MaxHosts     int               `json:"max_hosts,omitempty"`
}

// HostDelete removes a host. With Tombstone its ID is remembered so that it cannot register
// again (entries written before tombstones existed leave none).
type HostDelete struct {
	HostID    string `json:"host_id"`
	Tombstone bool   `json:"tombstone,omitempty"`
}

// HostTag sets and removes tags on a host. With Operator, the keys are recorded as the
// operator's, which re-registration never changes (entries written before that was tracked
// record nothing).
type HostTag struct {
	HostID   string            `json:"host_id"`
	Set      map[string]string `json:"set,omitempty"`
	Remove   []string          `json:"remove,omitempty"`
	Operator bool              `json:"operator,omitempty"`
}

// HostStatus records a host's session: which server holds it (Online) or that it ended.
// Capabilities are the kinds of work (and agentproto.CapabilityDocker) the session's agent
// advertised, set when Online; absent from entries written before builds, which leave the host's
// as they are.
type HostStatus struct {
	HostID       string   `json:"host_id"`
	Server       string   `json:"server"`
	Online       bool     `json:"online"`
	Address      string   `json:"address,omitempty"`
	Capabilities []string `json:"capabilities,omitempty"`
}

// HostTokenRevoke deletes a registration token by accessor; it can register nothing more.
type HostTokenRevoke struct {
	AccessorID string `json:"accessor_id"`
}

// KeyringAdd adds a data key to the cluster keyring and makes it the active one. The proposer
// generated the key and wrapped it with the cluster's key-encryption key; the log and the state
// only ever hold the wrapped form. First marks the cluster's first key: refused once the keyring
// has any key, so two leaders racing to create it cannot both succeed.
type KeyringAdd struct {
	ID      string `json:"id"`
	Wrapped []byte `json:"wrapped"`
	KEK     string `json:"kek"` // fingerprint of the wrapping key-encryption key
	First   bool   `json:"first,omitempty"`
}
