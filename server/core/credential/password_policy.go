package credential

import (
	"fmt"
	"strings"
	"unicode"
)

// Password length bounds, in bytes (not characters: the hash sees bytes).
const (
	MinPasswordLen = 12
	MaxPasswordLen = 1024
)

// CheckPassword applies the password policy to a new password: 12 to 1024 bytes, not only
// white space, not a single character repeated, and not one of the most common passwords
// (compared case-insensitively). It returns nil or an error whose message says what is wrong
// and what to do; the message never repeats the password. Existing passwords are not
// re-checked at login, so tightening the policy locks nobody out.
func CheckPassword(pw string) error {
	switch {
	case len(pw) < MinPasswordLen:
		return fmt.Errorf("the password is %d bytes long; use at least %d (a passphrase of several words is easiest to remember)", len(pw), MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		return fmt.Errorf("the password is %d bytes long; use at most %d", len(pw), MaxPasswordLen)
	case strings.TrimFunc(pw, unicode.IsSpace) == "":
		return fmt.Errorf("the password is only white space; choose one with visible characters")
	case oneRune(pw):
		return fmt.Errorf("the password is one character repeated; choose a less guessable one")
	}
	if _, found := commonPasswords[strings.ToLower(pw)]; found {
		return fmt.Errorf("the password is on the list of the most common passwords, which are guessed first; choose another")
	}
	return nil
}

func oneRune(s string) bool {
	var first rune
	for i, r := range s {
		if i == 0 {
			first = r
		} else if r != first {
			return false
		}
	}
	return true
}

// commonPasswords holds the most frequent passwords of public breach-corpus top lists that are
// at least MinPasswordLen bytes long (shorter ones are refused by length already), in lower
// case, plus the obvious ones for this product.
var commonPasswords = func() map[string]struct{} {
	m := make(map[string]struct{}, len(commonPasswordList))
	for _, p := range commonPasswordList {
		m[p] = struct{}{}
	}
	return m
}()

var commonPasswordList = []string{
	"123456789012", "1234567890123", "12345678901234", "123456789012345", "1234567890123456",
	"1234567891011", "123456123456", "123123123123", "111111111111", "000000000000",
	"121212121212", "123451234512345", "098765432109", "987654321098", "0123456789012",
	"qwertyuiop12", "qwertyuiop123", "qwertyuiopasdfghjkl", "qwertyuiopasdfghjklzxcvbnm",
	"qwertyqwerty", "qwerty123456", "1qaz2wsx3edc", "1q2w3e4r5t6y", "1q2w3e4r5t6y7u8i",
	"zaq12wsxcde3", "zaq1zaq1zaq1", "asdfghjkl123", "asdfasdfasdf", "azertyuiop12",
	"password1234", "password12345", "password123!", "password123456", "passwordpassword",
	"password1234!", "p@ssw0rd1234", "p@ssword1234", "passw0rd1234", "mypassword123",
	"iloveyou1234", "iloveyouiloveyou", "letmein12345", "welcome12345", "welcome123456",
	"changeme1234", "changemenow!", "administrator", "administrator1", "admin1234567",
	"adminadmin123", "trustno1trustno1", "football1234", "baseball1234", "superman1234",
	"sunshine1234", "princess1234", "monkey123456", "dragon123456", "starwars1234",
	"abcdefghijkl", "abcdefghijklm", "abc123abc123", "abcd1234abcd", "abcdefg12345",
	"slipway12345", "slipway123456", "slipwayslipway", "slipwayadmin", "slipwayadmin1",
}
