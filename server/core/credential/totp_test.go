package credential

import (
	"encoding/base32"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The RFC's shared secret, ASCII "12345678901234567890", as base32.
var rfcSecret = base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))

func TestHOTPRFC4226Vectors(t *testing.T) {
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for counter, w := range want {
		got, err := totpCode(rfcSecret, int64(counter), 6)
		if err != nil || got != w {
			t.Errorf("HOTP(counter %d) = %q, %v; want %q (RFC 4226 appendix D)", counter, got, err, w)
		}
	}
}

func TestTOTPRFC6238Vectors(t *testing.T) {
	// RFC 6238 appendix B, SHA-1 rows (8 digits).
	for _, v := range []struct {
		unix int64
		code string
	}{
		{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
	} {
		now := time.Unix(v.unix, 0)
		got, err := totpCode(rfcSecret, TOTPStep(now), 8)
		if err != nil || got != v.code {
			t.Errorf("TOTP(%d) = %q, %v; want %q", v.unix, got, err, v.code)
		}
		// The 6-digit code apps show is the same value modulo 10^6.
		step, ok := VerifyTOTP(rfcSecret, v.code[2:], now, 0)
		if !ok || step != TOTPStep(now) {
			t.Errorf("VerifyTOTP(%d, %s) = %d, %v; want step %d", v.unix, v.code[2:], step, ok, TOTPStep(now))
		}
	}
}

func TestVerifyTOTPWindowAndReplay(t *testing.T) {
	secret, err := NewTOTPSecret()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 6, 21, 0, 15, 0, time.UTC)
	cur := TOTPStep(now)
	code := func(step int64) string {
		c, err := totpCode(secret, step, 6)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, d := range []int64{-1, 0, 1} {
		step, ok := VerifyTOTP(secret, code(cur+d), now, 0)
		if !ok || step != cur+d {
			t.Errorf("code of step %+d: %d, %v; want accepted as step %d", d, step, ok, cur+d)
		}
	}
	for _, d := range []int64{-2, 2, 10} {
		if _, ok := VerifyTOTP(secret, code(cur+d), now, 0); ok {
			t.Errorf("code of step %+d accepted; only ±1 step may be", d)
		}
	}
	// Replay: the step just used, and any earlier one, is refused.
	step, ok := VerifyTOTP(secret, code(cur), now, 0)
	if !ok {
		t.Fatal("current code refused")
	}
	if _, ok := VerifyTOTP(secret, code(cur), now, step); ok {
		t.Error("the same code was accepted twice")
	}
	if _, ok := VerifyTOTP(secret, code(cur-1), now, step); ok {
		t.Error("an older code was accepted after a newer one was used")
	}
	if s, ok := VerifyTOTP(secret, code(cur+1), now, step); !ok || s != cur+1 {
		t.Error("the next step's code was refused after the current one was used")
	}
	// Typing: spaces are fine; anything else is refused.
	c := code(cur)
	if _, ok := VerifyTOTP(secret, c[:3]+" "+c[3:], now, 0); !ok {
		t.Error("a code typed as \"123 456\" was refused")
	}
	for _, bad := range []string{"", c[:5], c + "0", "12345a", "-12345", "１２３４５６", c[:5] + "\x00"} {
		if _, ok := VerifyTOTP(secret, bad, now, 0); ok {
			t.Errorf("code %q accepted", bad)
		}
	}
	for _, bad := range []string{"", "not base32!", "1111"} {
		if _, ok := VerifyTOTP(bad, "123456", now, 0); ok {
			t.Errorf("secret %q accepted", bad)
		}
	}
}

func TestTOTPSecretAndURL(t *testing.T) {
	a, err := NewTOTPSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewTOTPSecret()
	if a == b || len(a) != 32 || strings.ContainsAny(a, "=") {
		t.Fatalf("secrets %q, %q: want two different 32-character unpadded base32 strings", a, b)
	}
	raw := TOTPURL("alice smith", a)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Slipway:alice smith" {
		t.Errorf("URL %q: scheme %q host %q path %q", raw, u.Scheme, u.Host, u.Path)
	}
	if q := u.Query(); q.Get("secret") != a || q.Get("issuer") != "Slipway" {
		t.Errorf("URL %q: query %v", raw, q)
	}
	if want := "otpauth://totp/Slipway:alice?secret=" + a + "&issuer=Slipway"; TOTPURL("alice", a) != want {
		t.Errorf("TOTPURL(alice) = %q, want %q", TOTPURL("alice", a), want)
	}
}

func TestTOTPStepBeforeEpoch(t *testing.T) {
	if s := TOTPStep(time.Unix(-1, 0)); s != -1 {
		t.Errorf("TOTPStep(-1s) = %d, want -1", s)
	}
	if s := TOTPStep(time.Unix(29, 0)); s != 0 {
		t.Errorf("TOTPStep(29s) = %d, want 0", s)
	}
}

func FuzzVerifyTOTP(f *testing.F) {
	for _, s := range []string{"287082", "287 082", "", "abcdef", "0000000", " 1 2 3 4 5 6 ", "\xff\xfe"} {
		f.Add(s, int64(59), int64(0))
	}
	f.Fuzz(func(t *testing.T, code string, unix, last int64) {
		now := time.Unix(unix%(1<<40), 0)
		step, ok := VerifyTOTP(rfcSecret, code, now, last)
		if !ok {
			return
		}
		cur := TOTPStep(now)
		if step <= last || step < cur-1 || step > cur+1 {
			t.Fatalf("accepted step %d (current %d, last used %d)", step, cur, last)
		}
		want, _ := totpCode(rfcSecret, step, 6)
		if strings.ReplaceAll(code, " ", "") != want {
			t.Fatalf("accepted %q for step %d whose code is %s", code, step, want)
		}
	})
}
