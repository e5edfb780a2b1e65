package credential

import (
	"errors"
	"strings"
	"testing"
)

// fast are cheap parameters for tests that are about encoding, not cost.
var fast = Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Hashes made by the reference implementation (Debian's argon2 command):
// echo -n "correct horse battery" | argon2 saltsaltsalt16by -id -t 3 -m 16 -p 4 -l 32 -e
const (
	refDefault = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0MTZieQ$8dIwmFa6XbMv6uHqdmdpJFWzsPstsI/EQrJ+SjefbCI"
	// ... -t 2 -k 1024 -p 1
	refCheap = "$argon2id$v=19$m=1024,t=2,p=1$c2FsdHNhbHRzYWx0MTZieQ$852BDtb8HBovUbx1bc2wRTmQe2UoOGWHdFFReCk6VBA"
	refPW    = "correct horse battery"
)

func TestPasswordRoundTripDefault(t *testing.T) {
	enc, err := HashPassword("a long enough passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Fatalf("encoded hash %q does not carry the default parameters", enc)
	}
	ok, rehash, err := VerifyPassword(enc, "a long enough passphrase")
	if err != nil || !ok || rehash {
		t.Fatalf("VerifyPassword(right) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	ok, _, err = VerifyPassword(enc, "a long enough passphrasE")
	if err != nil || ok {
		t.Fatalf("VerifyPassword(wrong) = %v, %v; want false, nil", ok, err)
	}
	again, _ := HashPassword("a long enough passphrase")
	if again == enc {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

func TestPasswordMatchesReferenceImplementation(t *testing.T) {
	for _, enc := range []string{refDefault, refCheap} {
		ok, rehash, err := VerifyPassword(enc, refPW)
		if err != nil || !ok {
			t.Fatalf("VerifyPassword(%s) = %v, %v; want a match", enc, ok, err)
		}
		if wantRehash := enc != refDefault; rehash != wantRehash {
			t.Errorf("VerifyPassword(%s) needsRehash = %v, want %v", enc, rehash, wantRehash)
		}
	}
}

func TestPasswordRehashWhenParametersChange(t *testing.T) {
	enc, err := hashPassword("old parameters here", fast)
	if err != nil {
		t.Fatal(err)
	}
	ok, rehash, err := VerifyPassword(enc, "old parameters here")
	if err != nil || !ok || !rehash {
		t.Fatalf("VerifyPassword(old params) = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
	ok, rehash, _ = VerifyPassword(enc, "not the password")
	if ok || rehash {
		t.Fatalf("a wrong password must not ask for a rehash: %v, %v", ok, rehash)
	}
	// Raising the defaults makes today's hashes ask for a rehash.
	saved := DefaultArgon2
	t.Cleanup(func() { DefaultArgon2 = saved })
	DefaultArgon2 = fast
	if _, rehash, _ := VerifyPassword(enc, "old parameters here"); rehash {
		t.Fatal("a hash with the current defaults asks for a rehash")
	}
	DefaultArgon2.Time = 2
	if _, rehash, _ := VerifyPassword(enc, "old parameters here"); !rehash {
		t.Fatal("raising Time did not ask for a rehash")
	}
}

func TestPasswordTamperedHashFails(t *testing.T) {
	enc, err := hashPassword("tamper with me please", fast)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(enc, "$")
	flip := func(s string) string {
		b := []byte(s)
		if b[3] == 'A' {
			b[3] = 'B'
		} else {
			b[3] = 'A'
		}
		return string(b)
	}
	for name, bad := range map[string]string{
		"hash":   strings.Join([]string{"", f[1], f[2], f[3], f[4], flip(f[5])}, "$"),
		"salt":   strings.Join([]string{"", f[1], f[2], f[3], flip(f[4]), f[5]}, "$"),
		"params": strings.Join([]string{"", f[1], f[2], "m=1024,t=2,p=1", f[4], f[5]}, "$"),
	} {
		ok, _, err := VerifyPassword(bad, "tamper with me please")
		if ok {
			t.Errorf("%s tampered: the password still verifies (err %v)", name, err)
		}
	}
}

func TestPasswordHostileEncodingsRefused(t *testing.T) {
	salt, key := "c2FsdHNhbHRzYWx0MTZieQ", "852BDtb8HBovUbx1bc2wRTmQe2UoOGWHdFFReCk6VBA"
	enc := func(alg, v, params string) string {
		return "$" + alg + "$" + v + "$" + params + "$" + salt + "$" + key
	}
	cases := []struct {
		name, enc string
		want      error
	}{
		{"huge memory", enc("argon2id", "v=19", "m=4294967295,t=1,p=1"), ErrHashTooCostly},
		{"memory above max", enc("argon2id", "v=19", "m=262145,t=1,p=1"), ErrHashTooCostly},
		{"huge time", enc("argon2id", "v=19", "m=1024,t=4294967295,p=1"), ErrHashTooCostly},
		{"huge threads", enc("argon2id", "v=19", "m=1024,t=1,p=255"), ErrHashTooCostly},
		{"threads overflow uint8", enc("argon2id", "v=19", "m=1024,t=1,p=257"), ErrHashTooCostly},
		{"memory overflows uint32", enc("argon2id", "v=19", "m=4294967296,t=1,p=1"), ErrMalformedHash},
		{"zero time", enc("argon2id", "v=19", "m=1024,t=0,p=1"), ErrMalformedHash},
		{"zero threads", enc("argon2id", "v=19", "m=1024,t=1,p=0"), ErrMalformedHash},
		{"memory below 8p", enc("argon2id", "v=19", "m=15,t=1,p=2"), ErrMalformedHash},
		{"negative", enc("argon2id", "v=19", "m=-1,t=1,p=1"), ErrMalformedHash},
		{"leading zero", enc("argon2id", "v=19", "m=01024,t=2,p=1"), ErrMalformedHash},
		{"plus sign", enc("argon2id", "v=19", "m=+1024,t=2,p=1"), ErrMalformedHash},
		{"reordered", enc("argon2id", "v=19", "t=2,m=1024,p=1"), ErrMalformedHash},
		{"extra param", enc("argon2id", "v=19", "m=1024,t=2,p=1,x=1"), ErrMalformedHash},
		{"argon2i", enc("argon2i", "v=19", "m=1024,t=2,p=1"), ErrMalformedHash},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", ErrMalformedHash},
		{"old version", enc("argon2id", "v=16", "m=1024,t=2,p=1"), ErrMalformedHash},
		{"padded salt", "$argon2id$v=19$m=1024,t=2,p=1$" + salt + "==$" + key, ErrMalformedHash},
		{"short salt", "$argon2id$v=19$m=1024,t=2,p=1$c2FsdA$" + key, ErrMalformedHash},
		{"short hash", "$argon2id$v=19$m=1024,t=2,p=1$" + salt + "$c2FsdA", ErrMalformedHash},
		{"huge salt", "$argon2id$v=19$m=1024,t=2,p=1$" + strings.Repeat("A", 200) + "$" + key, ErrMalformedHash},
		{"not base64", "$argon2id$v=19$m=1024,t=2,p=1$" + salt + "$!!!!" + key[4:], ErrMalformedHash},
		{"empty", "", ErrMalformedHash},
		{"plain text", "correct horse battery", ErrMalformedHash},
		{"too long", enc("argon2id", "v=19", "m=1024,t=2,p=1") + strings.Repeat("A", 1<<20), ErrMalformedHash},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, rehash, err := VerifyPassword(c.enc, refPW)
			if ok || rehash || !errors.Is(err, c.want) {
				t.Fatalf("VerifyPassword = %v, %v, %v; want false, false, %v", ok, rehash, err, c.want)
			}
		})
	}
}

func TestPasswordTooLongNeverMatches(t *testing.T) {
	long := strings.Repeat("x", MaxPasswordLen+1)
	if _, err := hashPassword(long, fast); err == nil {
		t.Fatal("a password above MaxPasswordLen was hashed")
	}
	enc, err := hashPassword(long[:MaxPasswordLen], fast)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := VerifyPassword(enc, long[:MaxPasswordLen]); !ok || err != nil {
		t.Fatalf("a password of MaxPasswordLen bytes does not verify: %v, %v", ok, err)
	}
	if ok, _, err := VerifyPassword(enc, long); ok || err != nil {
		t.Fatalf("a password above MaxPasswordLen verified: %v, %v", ok, err)
	}
}

func TestCheckPassword(t *testing.T) {
	cases := []struct {
		pw   string
		want string // part of the error, "" for accepted
	}{
		{"short", "at least 12"},
		{"elevenchars", "at least 12"},
		{"twelve chars", ""},
		{"correct horse battery staple", ""},
		{strings.Repeat("ab", 512), ""},
		{strings.Repeat("ab", 512) + "c", "at most 1024"},
		{strings.Repeat(" ", 20), "white space"},
		{" \t\n\u00a0 \u2003 \t\t\t\t\t\t\t", "white space"},
		{strings.Repeat("a", 16), "one character repeated"},
		{strings.Repeat("é", 8), "one character repeated"},
		{"Password1234", "most common"},
		{"QWERTYUIOP123", "most common"},
		{"slipwayadmin", "most common"},
	}
	for _, c := range cases {
		err := CheckPassword(c.pw)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("CheckPassword(%q) = %v; want accepted", c.pw, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("CheckPassword(%q) = %v; want an error about %q", c.pw, err, c.want)
		case err != nil && len(c.pw) >= 4 && strings.Contains(err.Error(), c.pw):
			t.Errorf("CheckPassword(%q) repeats the password in its error: %v", c.pw, err)
		}
	}
	for _, p := range commonPasswordList {
		if len(p) < MinPasswordLen || p != strings.ToLower(p) {
			t.Errorf("common password %q is shorter than the minimum or not lower case: it can never match", p)
		}
	}
}

func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := HashPassword("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyPassword(b *testing.B) {
	enc, err := HashPassword("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _, _ := VerifyPassword(enc, "correct horse battery staple"); !ok {
			b.Fatal("no match")
		}
	}
}
