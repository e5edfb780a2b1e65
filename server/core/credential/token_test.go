package credential

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/server/core/auth"
)

func TestNewToken(t *testing.T) {
	secret, hash, err := NewToken(PersonalTokenPrefix)
	if err != nil {
		t.Fatal(err)
	}
	body, ok := strings.CutPrefix(secret, "slwp_")
	if !ok {
		t.Fatalf("secret %q lacks the slwp_ prefix", secret)
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(raw) != 32 {
		t.Fatalf("secret body %q: %d bytes, %v; want 32 bytes of base64url", body, len(raw), err)
	}
	if hash != auth.HashSecret(secret) || len(hash) != 64 {
		t.Fatalf("hash %q is not auth.HashSecret of the secret", hash)
	}
	other, _, _ := NewToken(PersonalTokenPrefix)
	if other == secret {
		t.Fatal("two tokens are equal")
	}
	for _, bad := range []string{"", "_", "slwp", "SLWP_", "s_", "sl-p_", "abcdefghi_", "slw p_"} {
		if _, _, err := NewToken(bad); err == nil {
			t.Errorf("NewToken(%q) accepted the prefix", bad)
		}
	}
}
