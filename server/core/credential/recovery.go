package credential

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
)

// RecoveryCodeLen is the length of a recovery code in base32 characters: 80 bits, so that a
// plain SHA-256 of it is a safe stored form (no salt or slow hash is needed against a guesser
// who has the state). Codes are shown in groups of four: ABCD-EFGH-IJKL-MNOP.
const RecoveryCodeLen = 16

// NewRecoveryCodes returns n fresh one-time recovery codes as they are shown to the user
// (grouped, with hyphens) and, at the same index, their hashes, the only form to store.
func NewRecoveryCodes(n int) (codes []string, hashes []string, err error) {
	if n < 1 || n > 100 {
		return nil, nil, fmt.Errorf("credential: %d recovery codes asked for; between 1 and 100 expected", n)
	}
	raw := make([]byte, RecoveryCodeLen*5/8)
	for range n {
		if _, err := rand.Read(raw); err != nil {
			return nil, nil, fmt.Errorf("credential: reading random recovery code: %w", err)
		}
		c := b32.EncodeToString(raw)
		var g strings.Builder
		for i := 0; i < len(c); i += 4 {
			if i > 0 {
				g.WriteByte('-')
			}
			g.WriteString(c[i : i+4])
		}
		codes = append(codes, g.String())
		hashes = append(hashes, HashRecoveryCode(c))
	}
	return codes, hashes, nil
}

// normalizeRecoveryCode removes the grouping (hyphens, spaces), upper-cases, and reads the
// digits 0 and 1, which base32 does not use, as the letters O and I people mistake them for.
func normalizeRecoveryCode(code string) string {
	return strings.NewReplacer("-", "", " ", "", "0", "O", "1", "I").Replace(strings.ToUpper(code))
}

// HashRecoveryCode returns the stored form of a recovery code: hex SHA-256 of the code without
// grouping, in upper case, so that the user may type it with or without hyphens, in any case.
func HashRecoveryCode(code string) string {
	sum := sha256.Sum256([]byte(normalizeRecoveryCode(code)))
	return hex.EncodeToString(sum[:])
}

// UseRecoveryCode checks a typed code against the stored hashes. When it matches one, it
// returns the hashes without that one (the code is consumed: the caller stores remaining) and
// true; otherwise hashes unchanged and false. Every stored hash is compared, in constant time.
func UseRecoveryCode(hashes []string, code string) (remaining []string, ok bool) {
	if len(normalizeRecoveryCode(code)) != RecoveryCodeLen {
		return hashes, false
	}
	h := []byte(HashRecoveryCode(code))
	at := -1
	for i, s := range hashes {
		if subtle.ConstantTimeCompare([]byte(s), h) == 1 && at < 0 {
			at = i
		}
	}
	if at < 0 {
		return hashes, false
	}
	remaining = make([]string, 0, len(hashes)-1)
	remaining = append(remaining, hashes[:at]...)
	remaining = append(remaining, hashes[at+1:]...)
	return remaining, true
}
