package credential

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"
)

// Bounds on an uploaded SSH public key.
const (
	// MaxAuthorizedKeyLen bounds the line: a 16384-bit RSA key with a long comment fits.
	MaxAuthorizedKeyLen = 8192
	// MinRSABits and MaxRSABits: below 2048 bits RSA is breakable in reach; above 16384 a key
	// only makes every signature check slow.
	MinRSABits = 2048
	MaxRSABits = 16384
	// maxCommentLen bounds the comment kept with the key.
	maxCommentLen = 256
)

// ErrSSHKey is wrapped by every refusal of ParseAuthorizedKey.
var ErrSSHKey = errors.New("credential: unusable SSH public key")

// keyAlgoDSA is ssh-dss, which golang.org/x/crypto/ssh no longer parses at all.
const keyAlgoDSA = "ssh-dss"

var errDSA = fmt.Errorf("%w: DSA keys are not accepted (OpenSSH dropped them as weak); make one with ssh-keygen -t ed25519", ErrSSHKey)

// SSHKey is a user's SSH public key as accepted by ParseAuthorizedKey.
type SSHKey struct {
	Key         ssh.PublicKey
	Type        string // the key's algorithm name, e.g. ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa
	Bits        int    // the size ssh-keygen -l prints: 256 for ed25519, the curve for ecdsa, the modulus for RSA
	Fingerprint string // SHA256:<unpadded base64>, as ssh-keygen -lf prints it
	Comment     string // the text after the key, usually user@host; may be empty
}

// AuthorizedKey returns the key as one authorized_keys line without a newline:
// "TYPE BASE64 COMMENT" (the canonical encoding, whatever spacing the upload had).
func (k *SSHKey) AuthorizedKey() string {
	line := strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(k.Key)), "\n")
	if k.Comment != "" {
		line += " " + k.Comment
	}
	return line
}

// ParseAuthorizedKey reads one public key in the authorized_keys format (the content of a .pub
// file): ed25519, ecdsa on P-256, P-384 or P-521, or RSA of MinRSABits to MaxRSABits bits.
// Blank lines and # comment lines are skipped; anything else is refused with an error wrapping
// ErrSSHKey that says why and what to upload instead: more than one key, authorized_keys
// options (from=, command=...: Slipway's SSH server decides what a key may do), DSA, short RSA,
// certificates (Slipway trusts no SSH certificate authority; upload the plain key), FIDO
// security keys (sk-*), and anything longer than MaxAuthorizedKeyLen.
func ParseAuthorizedKey(line string) (*SSHKey, error) {
	if len(line) > MaxAuthorizedKeyLen {
		return nil, fmt.Errorf("%w: %d bytes, at most %d expected for one public key (upload the .pub file, not the private key)", ErrSSHKey, len(line), MaxAuthorizedKeyLen)
	}
	if strings.Contains(line, "PRIVATE KEY") {
		return nil, fmt.Errorf("%w: this is a private key; upload the public one (the .pub file) and keep the private key to yourself", ErrSSHKey)
	}
	key, comment, options, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil && slices.Contains(strings.Fields(line), keyAlgoDSA) {
		// x/crypto/ssh no longer reads DSA keys at all; name the reason rather than the syntax.
		return nil, errDSA
	}
	if err != nil {
		return nil, fmt.Errorf("%w: not an authorized_keys line (want TYPE BASE64 [COMMENT], e.g. the content of ~/.ssh/id_ed25519.pub)", ErrSSHKey)
	}
	if len(options) > 0 {
		return nil, fmt.Errorf("%w: the line has authorized_keys options (%s); upload the key alone", ErrSSHKey, strings.Join(options, ","))
	}
	if strings.TrimSpace(stripComments(string(rest))) != "" {
		return nil, fmt.Errorf("%w: more than one key; add one key at a time", ErrSSHKey)
	}
	if len(comment) > maxCommentLen || !printable(comment) {
		return nil, fmt.Errorf("%w: the comment (the text after the key) must be at most %d bytes of printable UTF-8", ErrSSHKey, maxCommentLen)
	}
	k := &SSHKey{Key: key, Type: key.Type(), Fingerprint: ssh.FingerprintSHA256(key), Comment: comment}
	switch key.Type() {
	case ssh.KeyAlgoED25519:
		k.Bits = 256
	case ssh.KeyAlgoECDSA256:
		k.Bits = 256
	case ssh.KeyAlgoECDSA384:
		k.Bits = 384
	case ssh.KeyAlgoECDSA521:
		k.Bits = 521
	case ssh.KeyAlgoRSA:
		pub, ok := key.(ssh.CryptoPublicKey)
		if !ok {
			return nil, fmt.Errorf("%w: unreadable RSA key", ErrSSHKey)
		}
		rk, ok := pub.CryptoPublicKey().(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%w: unreadable RSA key", ErrSSHKey)
		}
		k.Bits = rk.N.BitLen()
		if k.Bits < MinRSABits || k.Bits > MaxRSABits {
			return nil, fmt.Errorf("%w: an RSA key of %d bits; RSA keys must have %d to %d bits (better: ssh-keygen -t ed25519)", ErrSSHKey, k.Bits, MinRSABits, MaxRSABits)
		}
	case ssh.KeyAlgoSKED25519, ssh.KeyAlgoSKECDSA256:
		return nil, fmt.Errorf("%w: security-key (FIDO) keys of type %s are not accepted yet; upload an ed25519, ecdsa or RSA key", ErrSSHKey, key.Type())
	default:
		if _, cert := key.(*ssh.Certificate); cert {
			return nil, fmt.Errorf("%w: this is an SSH certificate (%s); Slipway trusts no SSH certificate authority, so upload the plain public key (the .pub file without -cert)", ErrSSHKey, key.Type())
		}
		return nil, fmt.Errorf("%w: key type %s is not accepted; use ed25519, ecdsa or RSA of at least %d bits", ErrSSHKey, key.Type(), MinRSABits)
	}
	return k, nil
}

// printable reports whether s is valid UTF-8 without control characters, so a comment shown
// later cannot move a terminal's cursor or forge lines.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// stripComments drops blank and # lines, which ssh.ParseAuthorizedKey skips too.
func stripComments(s string) string {
	var b strings.Builder
	for l := range strings.SplitSeq(s, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(t)
		}
	}
	return b.String()
}
