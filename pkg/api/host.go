package api

import "time"

// HostTokenCreateRequest is the body of POST /v1/host-tokens. TTL is a Go duration; empty
// means the registration token does not expire. Tags are given to every host registering with it.
type HostTokenCreateRequest struct {
	TTL  string            `json:"ttl,omitempty"`
	Tags map[string]string `json:"tags,omitempty"`
}

// HostToken is a registration token. Token (the secret) is shown only when it is created.
type HostToken struct {
	AccessorID     string            `json:"accessor_id"`
	Token          string            `json:"token,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
	CreateTime     time.Time         `json:"create_time"`
	ExpirationTime *time.Time        `json:"expiration_time,omitempty"`
	// CAPin is the cluster CA's pin (sha256:...) for agents' --ca-pin, set when the server that
	// created the token runs TLS.
	CAPin string `json:"ca_pin,omitempty"`
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
}

// HostList is the answer of GET /v1/hosts.
type HostList struct {
	Hosts []Host `json:"hosts"`
}

// HostTagRequest is the body of PATCH /v1/hosts/{name}/tags.
type HostTagRequest struct {
	Set    map[string]string `json:"set,omitempty"`
	Remove []string          `json:"remove,omitempty"`
}
