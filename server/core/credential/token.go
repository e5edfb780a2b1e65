package credential

import (
	"fmt"

	"github.com/slipwayhq/slipway/server/core/auth"
)

// PersonalTokenPrefix starts every personal access token, so a leaked one is recognisable
// (and distinguishable from today's service tokens, slw_, and registration tokens, slwr_).
const PersonalTokenPrefix = "slwp_"

// NewToken returns a fresh secret made of prefix and the same 32 random bytes, base64url
// without padding, as every other Slipway secret (auth.NewSecret), and its stored form, the hex
// SHA-256 that auth.HashSecret computes and token lookups use. The secret is shown to its
// owner once; only hash is stored. prefix must be 2 to 8 lower-case letters followed by "_".
func NewToken(prefix string) (secret, hash string, err error) {
	if !validPrefix(prefix) {
		return "", "", fmt.Errorf("credential: token prefix %q: want 2 to 8 lower-case letters and a final _", prefix)
	}
	secret = prefix + auth.NewSecret()[len(auth.SecretPrefix):]
	return secret, auth.HashSecret(secret), nil
}

func validPrefix(p string) bool {
	if len(p) < 3 || len(p) > 9 || p[len(p)-1] != '_' {
		return false
	}
	for _, c := range p[:len(p)-1] {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
