package command

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

// Token is the token record carried by ACLBootstrap and TokenCreate. SecretHash is the hex
// SHA-256 of the secret; the secret itself never enters the log.
type Token struct {
	AccessorID     string   `json:"accessor_id"`
	SecretHash     string   `json:"secret_hash"`
	Name           string   `json:"name"`
	Type           string   `json:"type"`
	Policies       []string `json:"policies,omitempty"`
	ExpirationTime int64    `json:"expiration_time,omitempty"` // unix nanos; 0 = never
}

// ACLBootstrap creates the first management token; refused once the cluster is bootstrapped.
type ACLBootstrap struct {
	Token Token `json:"token"`
}

// TokenCreate creates a token.
type TokenCreate struct {
	Token Token `json:"token"`
}

// TokenRevoke deletes a token by accessor.
type TokenRevoke struct {
	AccessorID string `json:"accessor_id"`
}

// AppCreate creates an application.
type AppCreate struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// AppDelete deletes an application.
type AppDelete struct {
	Name string `json:"name"`
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

// RevisionCreate creates a revision of an app over a registered blob (or returns the app's
// existing revision with the same content).
type RevisionCreate struct {
	ID          string `json:"id"`
	App         string `json:"app"`
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	Format      string `json:"format"`
	Description string `json:"description,omitempty"`
}
