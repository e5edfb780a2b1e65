package credential

import (
	"regexp"
	"strings"
	"testing"
)

func TestRecoveryCodes(t *testing.T) {
	codes, hashes, err := NewRecoveryCodes(10)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 10 || len(hashes) != 10 {
		t.Fatalf("got %d codes and %d hashes, want 10 each", len(codes), len(hashes))
	}
	shape := regexp.MustCompile(`^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$`)
	seen := map[string]bool{}
	for i, c := range codes {
		if !shape.MatchString(c) {
			t.Errorf("code %q is not four groups of four base32 characters", c)
		}
		if seen[c] {
			t.Errorf("code %q twice", c)
		}
		seen[c] = true
		if hashes[i] != HashRecoveryCode(c) || strings.Contains(hashes[i], c) || len(hashes[i]) != 64 {
			t.Errorf("hash %d %q is not the hex SHA-256 of its code", i, hashes[i])
		}
	}

	// Using a code consumes it, typed any way the user might.
	typed := strings.ToLower(strings.ReplaceAll(codes[3], "-", " "))
	left, ok := UseRecoveryCode(hashes, typed)
	if !ok || len(left) != 9 {
		t.Fatalf("UseRecoveryCode(%q) = %d left, %v; want 9, true", typed, len(left), ok)
	}
	for _, h := range left {
		if h == hashes[3] {
			t.Fatal("the used code's hash is still there")
		}
	}
	if _, ok := UseRecoveryCode(left, codes[3]); ok {
		t.Fatal("a used recovery code was accepted again")
	}
	left2, ok := UseRecoveryCode(left, strings.ReplaceAll(codes[0], "-", ""))
	if !ok || len(left2) != 8 {
		t.Fatalf("second code: %d left, %v", len(left2), ok)
	}
	if len(left) != 9 {
		t.Fatal("UseRecoveryCode changed the slice it was given")
	}
	for _, bad := range []string{"", "AAAA-AAAA-AAAA-AAAA", codes[1][:18], codes[1] + "A", hashes[1]} {
		if got, ok := UseRecoveryCode(left2, bad); ok || len(got) != len(left2) {
			t.Errorf("UseRecoveryCode(%q) = %v; want refused, nothing consumed", bad, ok)
		}
	}
	for _, n := range []int{0, -1, 101} {
		if _, _, err := NewRecoveryCodes(n); err == nil {
			t.Errorf("NewRecoveryCodes(%d) succeeded", n)
		}
	}
}

func TestRecoveryCodeConfusables(t *testing.T) {
	// 0 and 1 are not base32: they are read as O and I.
	if HashRecoveryCode("OOII-AAAA-BBBB-CCCC") != HashRecoveryCode("0011aaaabbbbcccc") {
		t.Fatal("0/1 are not read as O/I")
	}
}
