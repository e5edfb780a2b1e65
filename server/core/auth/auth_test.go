package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// expiry is when the expiring tokens of these tests expire; every clock is fixed around it.
var expiry = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// authState is a state holding, each stored by the hash of its secret: a management token, a
// client token, an expiring client token, a host, a registration token without expiry, an
// expiring one and a revoked one (created, then deleted).
type authState struct {
	s                                 *state.Store
	mgmt, client, expiring            string // API token secrets
	host                              string // the host's secret
	reg, regExpiring, regRevoked      string // registration token secrets
	mgmtAccessor, regExpiringAccessor string
}

func newAuthState(t *testing.T) *authState {
	t.Helper()
	s, err := state.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	a := &authState{s: s, mgmt: NewSecret(), client: NewSecret(), expiring: NewSecret(), host: NewSecret(),
		reg: "slwr_" + NewSecret()[len(SecretPrefix):], regExpiring: "slwr_" + NewSecret()[len(SecretPrefix):],
		regRevoked: "slwr_" + NewSecret()[len(SecretPrefix):], mgmtAccessor: "acc-mgmt", regExpiringAccessor: "reg-exp"}
	exp := expiry
	err = s.Update(func(tx *state.Tx) error {
		for _, tk := range []state.Token{
			{AccessorID: a.mgmtAccessor, SecretHash: HashSecret(a.mgmt), Name: "m", Type: api.TokenTypeManagement},
			{AccessorID: "acc-client", SecretHash: HashSecret(a.client), Name: "c", Type: api.TokenTypeClient},
			{AccessorID: "acc-exp", SecretHash: HashSecret(a.expiring), Name: "e", Type: api.TokenTypeClient, ExpirationTime: &exp},
		} {
			if err := tx.CreateToken(tk); err != nil {
				return err
			}
		}
		if _, err := tx.RegisterHost(state.Host{ID: "id-a", Name: "a", SecretHash: HashSecret(a.host)}, 1, true); err != nil {
			return err
		}
		for _, ht := range []state.HostToken{
			{AccessorID: "reg", SecretHash: HashSecret(a.reg)},
			{AccessorID: a.regExpiringAccessor, SecretHash: HashSecret(a.regExpiring), ExpirationTime: &exp},
			{AccessorID: "reg-revoked", SecretHash: HashSecret(a.regRevoked)},
		} {
			if err := tx.HostTokens().Create(ht); err != nil {
				return err
			}
		}
		return tx.HostTokens().Delete("reg-revoked")
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// oneCharOff is secret with its last character changed.
func oneCharOff(secret string) string {
	last := byte('A')
	if secret[len(secret)-1] == last {
		last = 'B'
	}
	return secret[:len(secret)-1] + string(last)
}

// refusal checks that err is an unauthorized fault whose message holds every one of want and
// none of notWant.
func refusal(t *testing.T, name string, err error, want, notWant []string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: accepted, want refused", name)
		return
	}
	if fault.CodeOf(err) != fault.Unauthorized {
		t.Errorf("%s: %v (code %s), want unauthorized", name, err, fault.CodeOf(err))
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: %q does not say %q", name, err, w)
		}
	}
	for _, w := range notWant {
		if strings.Contains(err.Error(), w) {
			t.Errorf("%s: %q says %q", name, err, w)
		}
	}
}

// TestResolveRegistration: a registration token works until its expiry and is refused at and
// after it with a message naming the expiry and saying to create a new one; one without expiry
// works at any time. An unknown secret, a revoked token's secret and a secret one character off
// a valid one are refused with one message that does not say which (nor "expired"); an empty one
// says how to get a token. Surrounding whitespace is ignored.
func TestResolveRegistration(t *testing.T) {
	a := newAuthState(t)
	for _, tc := range []struct {
		name   string
		secret string
		now    time.Time
		want   string // accessor accepted; "" refused
	}{
		{"before expiry", a.regExpiring, expiry.Add(-time.Nanosecond), a.regExpiringAccessor},
		{"long before expiry", a.regExpiring, expiry.Add(-240 * time.Hour), a.regExpiringAccessor},
		{"no expiry, years later", a.reg, expiry.AddDate(10, 0, 0), "reg"},
		{"surrounding whitespace", " " + a.reg + "\n", expiry, "reg"},
	} {
		id, err := ResolveRegistration(a.s, tc.secret, tc.now)
		switch {
		case err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case id.HostToken == nil || id.HostToken.AccessorID != tc.want || id.Host != nil || id.Management():
			t.Errorf("%s: identity %+v, want registration token %s only", tc.name, id, tc.want)
		}
	}

	expired := []string{"registration token expired at " + expiry.Format(time.RFC3339), "create a new one with slipway host token create"}
	for _, tc := range []struct {
		name string
		now  time.Time
	}{
		{"at expiry", expiry},
		{"after expiry", expiry.Add(time.Second)},
		{"at expiry, another zone", expiry.In(time.FixedZone("UTC+5", 5*3600))},
	} {
		id, err := ResolveRegistration(a.s, a.regExpiring, tc.now)
		if id != nil {
			t.Errorf("%s: identity %+v returned with the refusal", tc.name, id)
		}
		refusal(t, tc.name, err, expired, []string{a.regExpiring})
	}

	invalid := []string{"registration token is not valid (unknown or revoked)", "slipway host token create"}
	for _, tc := range []struct{ name, secret string }{
		{"unknown", "slwr_" + NewSecret()[len(SecretPrefix):]},
		{"revoked", a.regRevoked},
		{"one character off", oneCharOff(a.reg)},
		{"one character off an expired one", oneCharOff(a.regExpiring)},
		{"an API token's secret", a.mgmt},
		{"a host's secret", a.host},
	} {
		id, err := ResolveRegistration(a.s, tc.secret, expiry.Add(-time.Hour))
		if id != nil {
			t.Errorf("%s: identity %+v returned with the refusal", tc.name, id)
		}
		refusal(t, tc.name, err, invalid, []string{"expired", tc.secret})
	}
	_, err := ResolveRegistration(a.s, "  ", expiry)
	refusal(t, "empty", err, []string{"needs a registration token"}, nil)
}

// TestResolve: an API token works until its expiry and is refused at and after it; unknown,
// expired and one-character-off secrets get one message that does not say which; a registration
// token's or a host's secret is no API token. Management() holds only for the management token.
func TestResolve(t *testing.T) {
	a := newAuthState(t)
	for _, tc := range []struct {
		name, secret string
		now          time.Time
		accessor     string
		management   bool
	}{
		{"management", a.mgmt, expiry, a.mgmtAccessor, true},
		{"client", a.client, expiry.AddDate(10, 0, 0), "acc-client", false},
		{"expiring, before expiry", a.expiring, expiry.Add(-time.Nanosecond), "acc-exp", false},
		{"surrounding whitespace", "\t" + a.mgmt + " ", expiry, a.mgmtAccessor, true},
	} {
		id, err := Resolve(a.s, tc.secret, tc.now)
		switch {
		case err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case id.Token.AccessorID != tc.accessor || id.Host != nil || id.HostToken != nil:
			t.Errorf("%s: identity %+v, want token %s", tc.name, id, tc.accessor)
		case id.Management() != tc.management:
			t.Errorf("%s: Management() %v, want %v", tc.name, id.Management(), tc.management)
		}
	}

	invalid := []string{"the token is not valid (unknown, revoked or expired)"}
	for _, tc := range []struct {
		name, secret string
		now          time.Time
	}{
		{"expired, at expiry", a.expiring, expiry},
		{"expired, after expiry", a.expiring, expiry.Add(time.Hour)},
		{"unknown", NewSecret(), expiry.Add(-time.Hour)},
		{"one character off", oneCharOff(a.mgmt), expiry.Add(-time.Hour)},
		{"a registration token's secret", a.reg, expiry.Add(-time.Hour)},
		{"a host's secret", a.host, expiry.Add(-time.Hour)},
	} {
		id, err := Resolve(a.s, tc.secret, tc.now)
		if id != nil {
			t.Errorf("%s: identity %+v returned with the refusal", tc.name, id)
		}
		if err == nil || err.Error() != invalid[0] {
			t.Errorf("%s: %v, want exactly %q (the same for every refusal)", tc.name, err, invalid[0])
		}
		refusal(t, tc.name, err, invalid, nil)
	}
	_, err := Resolve(a.s, "", expiry)
	refusal(t, "empty", err, []string{"needs a token"}, nil)
}

// TestResolveHost: a host's secret acts as its host, never as a manager; an unknown secret, one
// a character off, and an API token's secret are refused.
func TestResolveHost(t *testing.T) {
	a := newAuthState(t)
	id, err := ResolveHost(a.s, a.host)
	if err != nil || id.Host == nil || id.Host.ID != "id-a" || id.HostToken != nil {
		t.Fatalf("host secret: %+v %v, want host id-a", id, err)
	}
	// A host identity is never a manager, whatever its token fields say.
	id.Token.Type = api.TokenTypeManagement
	if id.Management() {
		t.Error("a host identity with a management token type is a manager")
	}
	reg := &Identity{Token: state.Token{Type: api.TokenTypeManagement}, HostToken: &state.HostToken{AccessorID: "reg"}}
	if reg.Management() {
		t.Error("a registration identity with a management token type is a manager")
	}
	for _, tc := range []struct{ name, secret string }{
		{"unknown", NewSecret()},
		{"one character off", oneCharOff(a.host)},
		{"an API token's secret", a.mgmt},
	} {
		id, err := ResolveHost(a.s, tc.secret)
		if id != nil {
			t.Errorf("%s: identity %+v returned with the refusal", tc.name, id)
		}
		refusal(t, tc.name, err, []string{"host secret is not valid"}, []string{tc.secret})
	}
	_, err = ResolveHost(a.s, "")
	refusal(t, "empty", err, []string{"needs the host secret"}, nil)
}

// TestSecretsAndTheirStoredForm: a secret is slw_ and 32 random bytes in base64url, a fresh one
// each time; its stored form is the hex SHA-256 of the whole secret, which never contains the
// secret, and secrets one character apart hash apart.
func TestSecretsAndTheirStoredForm(t *testing.T) {
	s1, s2 := NewSecret(), NewSecret()
	if s1 == s2 {
		t.Fatalf("two secrets are the same: %s", s1)
	}
	for _, s := range []string{s1, s2} {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
		if !strings.HasPrefix(s, "slw_") || err != nil || len(b) != 32 {
			t.Errorf("secret %q: want slw_ and 32 bytes in base64url (%d bytes, %v)", s, len(b), err)
		}
	}
	sum := sha256.Sum256([]byte(s1))
	h := HashSecret(s1)
	if h != hex.EncodeToString(sum[:]) || len(h) != 64 {
		t.Errorf("HashSecret(%q) = %q, want the hex SHA-256 of the secret", s1, h)
	}
	if strings.Contains(h, s1) || strings.Contains(h, strings.TrimPrefix(s1, SecretPrefix)) {
		t.Errorf("the stored form %q holds the secret", h)
	}
	if HashSecret(oneCharOff(s1)) == h || HashSecret(s1[1:]) == h {
		t.Error("secrets that differ hash the same")
	}
}
