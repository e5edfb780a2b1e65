package credential

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters of a password hash. They are written into the
// encoded hash, so a hash made with older parameters still verifies after the defaults are
// raised, and VerifyPassword reports it as needing a rehash.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over the memory
	Threads uint8  // lanes (parallelism)
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes of the derived hash
}

// DefaultArgon2 is what HashPassword uses: the second recommended option of RFC 9106 section 4
// (64 MiB, 3 passes, 4 lanes, 128-bit salt, 256-bit tag), which is above OWASP's minimum
// (19 MiB, 2 passes, 1 lane). It is deliberately slow: see docs/BENCHMARKS.md.
var DefaultArgon2 = Argon2Params{Memory: 64 * 1024, Time: 3, Threads: 4, SaltLen: 16, KeyLen: 32}

// Limits on an encoded hash's parameters. VerifyPassword refuses anything above them before
// doing any work, so a hostile or corrupted stored hash cannot make the server allocate
// gigabytes or spin for minutes. They leave room to raise DefaultArgon2 fourfold.
const (
	maxArgon2Memory  = 256 * 1024 // KiB: 256 MiB
	maxArgon2Time    = 12
	maxArgon2Threads = 16
	minSaltLen       = 8 // RFC 9106: at least 8 bytes
	maxSaltLen       = 64
	minKeyLen        = 16
	maxKeyLen        = 64
	maxEncodedLen    = 256 // far above any hash within the limits (~170 bytes)
)

// hashSlots bounds how many argon2 computations run at once in this process (each holds
// Memory KiB), so a burst of logins costs at most cap(hashSlots) * 64 MiB with the defaults
// (256 MiB with the maximum), and the rest wait their turn.
var hashSlots = make(chan struct{}, 4)

// Errors of VerifyPassword about the encoded hash itself (never about the password).
var (
	// ErrMalformedHash: the stored string is not an argon2id PHC string this package can read.
	ErrMalformedHash = errors.New("credential: malformed password hash")
	// ErrHashTooCostly: the stored string asks for more work than the fixed maxima allow.
	ErrHashTooCostly = errors.New("credential: password hash parameters above the allowed maximum")
)

// HashPassword hashes a password with argon2id and DefaultArgon2 and a fresh random salt, and
// returns it in the PHC string format:
//
//	$argon2id$v=19$m=65536,t=3,p=4$<salt, base64 without padding>$<hash, base64 without padding>
//
// It does not apply the password policy (CheckPassword does, when a password is set); it only
// refuses a password longer than MaxPasswordLen, which the policy refuses too.
func HashPassword(pw string) (string, error) {
	return hashPassword(pw, DefaultArgon2)
}

func hashPassword(pw string, p Argon2Params) (string, error) {
	if len(pw) > MaxPasswordLen {
		return "", fmt.Errorf("credential: the password is %d bytes; at most %d are allowed", len(pw), MaxPasswordLen)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("credential: reading random salt: %w", err)
	}
	key := derive(pw, salt, p)
	return encodeHash(p, salt, key), nil
}

// VerifyPassword checks pw against an encoded hash from HashPassword, comparing in constant
// time. ok is whether the password matches. needsRehash is true when ok and the hash was made
// with parameters other than DefaultArgon2: the caller should store HashPassword(pw) now that it
// has the plain password. err is non-nil only when the encoded hash is unusable
// (ErrMalformedHash, ErrHashTooCostly); a wrong password is ok == false with a nil error.
// A password longer than MaxPasswordLen never matches and costs no hashing.
func VerifyPassword(encoded, pw string) (ok bool, needsRehash bool, err error) {
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, false, err
	}
	if len(pw) > MaxPasswordLen {
		return false, false, nil
	}
	got := derive(pw, salt, p)
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	return true, p != DefaultArgon2, nil
}

func derive(pw string, salt []byte, p Argon2Params) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

var b64 = base64.RawStdEncoding.Strict()

func encodeParams(p Argon2Params) string {
	return fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads)
}

func encodeHash(p Argon2Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$%s$%s$%s", argon2.Version, encodeParams(p), b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decodeHash parses a PHC argon2id string strictly: the canonical form HashPassword writes
// (fields in order, decimal without leading zeros, unpadded standard base64), version 19 only,
// and every parameter within the limits above, so no input reaches argon2 with a cost or a
// value (t or p of 0) it would panic or stall on.
func decodeHash(s string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	if len(s) > maxEncodedLen {
		return p, nil, nil, fmt.Errorf("%w: %d bytes, at most %d expected", ErrMalformedHash, len(s), maxEncodedLen)
	}
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" {
		return p, nil, nil, fmt.Errorf("%w: want $argon2id$v=19$m=N,t=N,p=N$SALT$HASH", ErrMalformedHash)
	}
	if f[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: algorithm %q, only argon2id is supported", ErrMalformedHash, f[1])
	}
	if f[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: version %q, only v=%d is supported", ErrMalformedHash, f[2], argon2.Version)
	}
	kv := strings.Split(f[3], ",")
	if len(kv) != 3 {
		return p, nil, nil, fmt.Errorf("%w: parameters %q, want m=N,t=N,p=N", ErrMalformedHash, f[3])
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(kv[i], name)
		if !ok {
			return p, nil, nil, fmt.Errorf("%w: parameters %q, want m=N,t=N,p=N", ErrMalformedHash, f[3])
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, fmt.Errorf("%w: parameter %q is not a number", ErrMalformedHash, kv[i])
		}
		vals[i] = n
	}
	if vals[2] > maxArgon2Threads || vals[1] > maxArgon2Time || vals[0] > maxArgon2Memory {
		return p, nil, nil, fmt.Errorf("%w: %s (at most m=%d,t=%d,p=%d)", ErrHashTooCostly, f[3], maxArgon2Memory, maxArgon2Time, maxArgon2Threads)
	}
	p.Memory, p.Time, p.Threads = uint32(vals[0]), uint32(vals[1]), uint8(vals[2])
	if p.Time < 1 || p.Threads < 1 || p.Memory < 8*uint32(p.Threads) {
		return p, nil, nil, fmt.Errorf("%w: parameters %q below argon2's minimum (t>=1, p>=1, m>=8*p)", ErrMalformedHash, f[3])
	}
	if encodeParams(p) != f[3] {
		return p, nil, nil, fmt.Errorf("%w: parameters %q are not in canonical form", ErrMalformedHash, f[3])
	}
	salt, err := b64.DecodeString(f[4])
	if err != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return p, nil, nil, fmt.Errorf("%w: the salt must be %d to %d bytes of unpadded base64", ErrMalformedHash, minSaltLen, maxSaltLen)
	}
	key, err := b64.DecodeString(f[5])
	if err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return p, nil, nil, fmt.Errorf("%w: the hash must be %d to %d bytes of unpadded base64", ErrMalformedHash, minKeyLen, maxKeyLen)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}
