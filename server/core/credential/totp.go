package credential

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// TOTP as authenticator apps expect it (RFC 6238 over RFC 4226): HMAC-SHA-1, 6 digits,
// 30-second steps counted from the Unix epoch.
const (
	TOTPIssuer = "Slipway"
	TOTPPeriod = 30 // seconds
	TOTPDigits = 6
	// totpSkew is how many steps before and after the current one a code may be from, for
	// clocks that drift and codes typed at the end of their step (RFC 6238 section 5.2).
	totpSkew = 1
	// totpSecretLen is the secret's size in bytes: 160 bits, as RFC 4226 section 4 recommends.
	totpSecretLen = 20
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret returns a fresh TOTP secret: 20 random bytes as unpadded base32 (32
// characters), the form authenticator apps take in the otpauth URL or typed by hand. The
// server must be able to read it back to check codes, so it is stored encrypted, never hashed.
func NewTOTPSecret() (string, error) {
	b := make([]byte, totpSecretLen)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("credential: reading random TOTP secret: %w", err)
	}
	return b32.EncodeToString(b), nil
}

// TOTPURL returns the Key URI authenticator apps scan at enrolment:
// otpauth://totp/Slipway:USER?secret=SECRET&issuer=Slipway (the algorithm, digits and period
// are the defaults of that format, so they are left out, as the apps expect).
func TOTPURL(user, secret string) string {
	return "otpauth://totp/" + url.PathEscape(TOTPIssuer+":"+user) +
		"?secret=" + url.QueryEscape(secret) + "&issuer=" + url.QueryEscape(TOTPIssuer)
}

// TOTPStep is the RFC 6238 time step that contains now.
func TOTPStep(now time.Time) int64 {
	return floorDiv(now.Unix(), TOTPPeriod)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// VerifyTOTP checks a code typed by the user against secret at time now. It accepts the code
// of the current step and of the one before and after it, but only of a step later than
// lastUsedStep, so a code that was accepted once (or an older one) is refused when replayed.
// On success it returns the step the code belonged to, which the caller stores as the new
// lastUsedStep (0 before the first use). The code may contain spaces (apps show "123 456");
// anything but 6 digits, or a secret that is not base32, is refused. The candidates are all
// computed and compared in constant time.
func VerifyTOTP(secret, code string, now time.Time, lastUsedStep int64) (step int64, ok bool) {
	code = strings.ReplaceAll(code, " ", "")
	if len(code) != TOTPDigits || strings.Trim(code, "0123456789") != "" {
		return 0, false
	}
	if _, err := b32.DecodeString(strings.ToUpper(secret)); err != nil || secret == "" {
		return 0, false
	}
	cur := TOTPStep(now)
	found := int64(0)
	matched := 0
	for s := cur - totpSkew; s <= cur+totpSkew; s++ {
		if s < 0 {
			continue
		}
		want, err := totpCode(secret, s, TOTPDigits)
		if err != nil {
			return 0, false
		}
		eq := subtle.ConstantTimeCompare([]byte(want), []byte(code))
		if eq == 1 && s > lastUsedStep && matched == 0 {
			found, matched = s, 1
		}
	}
	if matched == 0 {
		return 0, false
	}
	return found, true
}

// totpCode is the RFC 4226 HOTP value of the step (RFC 6238's T) with SHA-1.
func totpCode(secret string, step int64, digits int) (string, error) {
	d := otp.DigitsSix
	if digits == 8 {
		d = otp.DigitsEight
	}
	return hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: d, Algorithm: otp.AlgorithmSHA1})
}
