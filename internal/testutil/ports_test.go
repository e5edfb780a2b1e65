package testutil

import (
	"fmt"
	"net"
	"testing"
)

// TestFreePortsBelowTheEphemeralRange: the ports are distinct, free (each can be listened on),
// and, where the kernel says where its ephemeral range starts, below it, so no outgoing
// connection can take one.
func TestFreePortsBelowTheEphemeralRange(t *testing.T) {
	ports := FreePorts(t, 40)
	_, start := belowEphemeral()
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Fatalf("port %d given twice: %v", p, ports)
		}
		seen[p] = true
		if start > 0 && p >= start {
			t.Errorf("port %d is in the ephemeral range (from %d)", p, start)
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		_ = ln.Close()
	}
}
