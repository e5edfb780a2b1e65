package command

import (
	"encoding/json"
	"testing"
)

// TestCorePayloadsKeepTheirJSON pins the JSON of the core's command payloads, field by field:
// entries written by earlier releases are decoded strictly (unknown fields refused), so renaming
// a field would make them fail to apply. Services pin theirs in their own packages.
func TestCorePayloadsKeepTheirJSON(t *testing.T) {
	for name, tc := range map[string]struct {
		v    any
		want string
	}{
		"cluster.init":  {ClusterInit{ClusterID: "c"}, `{"cluster_id":"c"}`},
		"node.register": {NodeRegister{NodeID: "n", RaftAddr: "r", HTTPAddr: "h", Version: "v"}, `{"node_id":"n","raft_addr":"r","http_addr":"h","version":"v"}`},
		"blob.register": {BlobRegister{SHA256: "s", Size: 1}, `{"sha256":"s","size":1}`},
		"blob.delete":   {BlobDelete{SHA256: "s"}, `{"sha256":"s"}`},
		"host_token.create": {HostTokenCreate{AccessorID: "a", SecretHash: "h", Tags: map[string]string{"k": "v"}, ExpirationTime: 2, AllowTags: []string{"p"}, MaxUses: 3},
			`{"accessor_id":"a","secret_hash":"h","tags":{"k":"v"},"expiration_time":2,"allow_tags":["p"],"max_uses":3}`},
		"host.register": {HostRegister{HostID: "i", SecretHash: "h", Name: "n", Tags: map[string]string{"k": "v"}, Hostname: "hn", OS: "linux", Arch: "amd64", AgentVersion: "av", Token: "t", MaxHosts: 4},
			`{"host_id":"i","secret_hash":"h","name":"n","tags":{"k":"v"},"hostname":"hn","os":"linux","arch":"amd64","agent_version":"av","token_accessor":"t","max_hosts":4}`},
		"host.delete":       {HostDelete{HostID: "i", Tombstone: true}, `{"host_id":"i","tombstone":true}`},
		"host.tag":          {HostTag{HostID: "i", Set: map[string]string{"k": "v"}, Remove: []string{"r"}, Operator: true}, `{"host_id":"i","set":{"k":"v"},"remove":["r"],"operator":true}`},
		"host.status":       {HostStatus{HostID: "i", Server: "s", Online: true, Address: "a"}, `{"host_id":"i","server":"s","online":true,"address":"a"}`},
		"host_token.revoke": {HostTokenRevoke{AccessorID: "a"}, `{"accessor_id":"a"}`},
		"keyring.add":       {KeyringAdd{ID: "dk", Wrapped: []byte{1}, KEK: "f", First: true}, `{"id":"dk","wrapped":"AQ==","kek":"f","first":true}`},
	} {
		b, err := json.Marshal(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("%s encodes as %s, released entries hold %s", name, b, tc.want)
		}
	}
}
