package session

import (
	"slices"
	"testing"
)

// TestPreferredServersPutTheSessionFirst: downloads go first to the server the session is open
// with (it answered a moment ago), then to the others in their order; between sessions the list
// is as known.
func TestPreferredServersPutTheSessionFirst(t *testing.T) {
	c := New(Config{Servers: []string{"http://a", "http://b", "http://c"}})
	if got := c.PreferredServers(); !slices.Equal(got, []string{"http://a", "http://b", "http://c"}) {
		t.Fatalf("no session: %v", got)
	}
	c.current = "http://b"
	if got := c.PreferredServers(); !slices.Equal(got, []string{"http://b", "http://a", "http://c"}) {
		t.Fatalf("session with b: %v", got)
	}
}
