package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestAuditRetention: a year by default; the flag, the environment and the file set it; 0 keeps
// everything; a negative or sub-hour retention is refused naming the flag and the key.
func TestAuditRetention(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil || c.AuditRetention != 8760*time.Hour {
		t.Fatalf("default %v, %v", c.AuditRetention, err)
	}
	if c, err = load(t, []string{"--audit-retention", "0"}, nil); err != nil || c.AuditRetention != 0 {
		t.Fatalf("0: %v, %v", c.AuditRetention, err)
	}
	if c, err = load(t, nil, map[string]string{"SLIPWAY_AUDIT_RETENTION": "720h"}); err != nil || c.AuditRetention != 720*time.Hour {
		t.Fatalf("env: %v, %v", c.AuditRetention, err)
	}
	for _, v := range []string{"-1h", "30m"} {
		_, err := load(t, []string{"--audit-retention", v}, nil)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "--audit-retention (audit_retention)") {
			t.Fatalf("%s: %v", v, err)
		}
	}
}
