package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// TestAgentRegistered: `slipway dev` makes a registration token for an embedded agent whose
// identity is missing or was saved but never registered (pending), and for no other.
func TestAgentRegistered(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		content string // "" : no file
		want    bool
	}{
		"missing":    {"", false},
		"pending":    {`{"host_id":"h","secret":"s","pending":true}`, false},
		"registered": {`{"host_id":"h","secret":"s"}`, true},
		"damaged":    {`{"host_id":`, false},
	} {
		path := filepath.Join(dir, name+".json")
		if tc.content != "" {
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if got := agentRegistered(path); got != tc.want {
			t.Errorf("%s: agentRegistered = %v, want %v", name, got, tc.want)
		}
	}
}
