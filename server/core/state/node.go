package state

var bucketNodes = []byte("nodes")

// Node is a control-plane server as registered by itself.
type Node struct {
	ID          string `json:"id"`
	RaftAddr    string `json:"raft_addr"`
	HTTPAddr    string `json:"http_addr"`
	Version     string `json:"version"`
	ModifyIndex uint64 `json:"modify_index"`
}

// PutNode creates or replaces a node record.
func (t *Tx) PutNode(n Node) error { return t.put(bucketNodes, []byte(n.ID), n) }

// GetNode returns a node record and whether it exists.
func (t *Tx) GetNode(id string) (Node, bool, error) {
	var n Node
	ok, err := t.get(bucketNodes, []byte(id), &n)
	return n, ok, err
}

// ListNodes returns every registered node in ID order.
func (t *Tx) ListNodes() ([]Node, error) {
	nodes, _, err := list[Node](t, bucketNodes, "", 0, nil)
	return nodes, err
}
