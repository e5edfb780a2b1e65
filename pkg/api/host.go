package api

import "time"

// HostTokenTTLNever is the TTL of a registration token that never expires. It must be asked for
// by name: an empty TTL means DefaultHostTokenTTL, and "0" is refused.
const HostTokenTTLNever = "never"

// DefaultHostTokenTTL is a registration token's lifetime when the request gives none.
const DefaultHostTokenTTL = 24 * time.Hour

// HostTokenCreateRequest is the body of POST /v1/host-tokens. TTL is a Go duration ("1h"),
// HostTokenTTLNever, or empty for DefaultHostTokenTTL. Tags are given to every host registering
// with it and win over the agent's own --tag values; AllowTags are path.Match patterns over
// "key=value" (role=*, zone=eu-?) naming the tags an agent may add. MaxUses (0: no limit) bounds
// how many new hosts the token registers; a host registering again does not use one.
type HostTokenCreateRequest struct {
	TTL       string            `json:"ttl,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
	AllowTags []string          `json:"allow_tags,omitempty"`
	MaxUses   int               `json:"max_uses,omitempty"`
}

// Registration token statuses.
const (
	HostTokenActive  = "active"
	HostTokenExpired = "expired"
	HostTokenUsedUp  = "used-up"
)

// HostToken is a registration token. Token (the secret) is shown only when it is created.
// ExpiresAt and ExpirationTime are the same instant (null / absent: never expires).
type HostToken struct {
	AccessorID     string            `json:"accessor_id"`
	Token          string            `json:"token,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
	CreateTime     time.Time         `json:"create_time"`
	ExpirationTime *time.Time        `json:"expiration_time,omitempty"`
	// CAPin is the cluster CA's pin (sha256:...) for agents' --ca-pin, set when the server that
	// created the token runs TLS.
	CAPin     string     `json:"ca_pin,omitempty"`
	ExpiresAt *time.Time `json:"expires_at"`
	AllowTags []string   `json:"allow_tags,omitempty"`
	MaxUses   int        `json:"max_uses,omitempty"` // 0: no limit
	Uses      int        `json:"uses"`
	Status    string     `json:"status"` // active, expired or used-up
}

// HostTokenList is the answer of GET /v1/host-tokens (secrets are never listed).
type HostTokenList struct {
	HostTokens []HostToken `json:"host_tokens"`
	Next       string      `json:"next,omitempty"`
}

// Host statuses.
const (
	HostOnline  = "online"
	HostOffline = "offline"
)

// Host is a machine running slipway-agent.
type Host struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Tags         map[string]string `json:"tags,omitempty"`
	Status       string            `json:"status"` // online or offline
	Address      string            `json:"address,omitempty"`
	Hostname     string            `json:"hostname"`
	OS           string            `json:"os"`
	Arch         string            `json:"arch"`
	AgentVersion string            `json:"agent_version"`
	LastSeen     time.Time         `json:"last_seen"`
	RegisterTime time.Time         `json:"register_time"`
	// Revisions is the current revision per deployment group.
	Revisions map[string]string `json:"revisions,omitempty"`
	// Capabilities are what the host's agent advertised in its latest session: the kinds of work
	// it runs (deploy, build) and docker when its engine answered.
	Capabilities []string `json:"capabilities,omitempty"`
}

// HostList is the answer of GET /v1/hosts: a page of hosts in name order (?limit=, at most
// 1000, default 100), filtered by ?tag=KEY=VALUE (repeatable; a host must have every one) and
// ?status=online|offline. Next, when set, is the ?next= of the following page.
type HostList struct {
	Hosts []Host `json:"hosts"`
	Next  string `json:"next,omitempty"`
}

// HostFilter selects hosts in a list: every tag of Tags (key and value), and Status when set
// (HostOnline or HostOffline).
type HostFilter struct {
	Tags   map[string]string
	Status string
}

// HostTagRequest is the body of PATCH /v1/hosts/{name}/tags.
type HostTagRequest struct {
	Set    map[string]string `json:"set,omitempty"`
	Remove []string          `json:"remove,omitempty"`
}
