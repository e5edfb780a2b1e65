package fsm_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

func hash(c byte) string { return strings.Repeat(string(c), 64) }

func reg(id string, secret byte, token string, maxHosts int) command.HostRegister {
	return command.HostRegister{HostID: id, SecretHash: hash(secret), Name: id, Token: token, MaxHosts: maxHosts}
}

// TestRegistrationLimitsInOneTransaction: uses and the host cap are counted with this
// transaction's own writes, so entries applied together (as a batch on one server, one by one on
// another) give the same outcome.
func TestRegistrationLimitsInOneTransaction(t *testing.T) {
	f := newFSM(t)
	exp := time.Unix(1700000000, 0).Add(time.Hour).UnixNano()
	results := f.ApplyBatch([]*raft.Log{
		entry(t, 1, command.TypeHostTokenCreate, "", command.HostTokenCreate{AccessorID: "once", SecretHash: hash('t'), MaxUses: 1, ExpirationTime: exp}),
		entry(t, 2, command.TypeHostTokenCreate, "", command.HostTokenCreate{AccessorID: "many", SecretHash: hash('u'), ExpirationTime: exp}),
		entry(t, 3, command.TypeHostRegister, "", reg("a", 'a', "once", 0)),
		entry(t, 4, command.TypeHostRegister, "", reg("a", 'a', "once", 0)), // again: no use
		entry(t, 5, command.TypeHostRegister, "", reg("b", 'b', "once", 0)), // used up
		entry(t, 6, command.TypeHostRegister, "", reg("c", 'c', "many", 2)),
		entry(t, 7, command.TypeHostRegister, "", reg("d", 'd', "many", 2)), // over the cap
		entry(t, 8, command.TypeHostRegister, "", reg("e", 'e', "gone", 0)), // unknown token
	})
	want := []fault.Code{"", "", "", "", fault.Unauthorized, "", fault.Conflict, fault.Unauthorized}
	for i, r := range results {
		if got := fault.Code(result(t, r).Code); got != want[i] {
			t.Errorf("entry %d: code %q (%s), want %q", i+1, got, result(t, r).Message, want[i])
		}
	}
}

func TestRegistrationTokenExpiresByCommandTime(t *testing.T) {
	f := newFSM(t)
	past := time.Unix(1700000000, 0).Add(-time.Second).UnixNano() // entry() times are 1700000000
	f.Apply(entry(t, 1, command.TypeHostTokenCreate, "", command.HostTokenCreate{AccessorID: "old", SecretHash: hash('t'), ExpirationTime: past}))
	r := result(t, f.Apply(entry(t, 2, command.TypeHostRegister, "", reg("a", 'a', "old", 0))))
	if r.Code != string(fault.Unauthorized) || !strings.Contains(r.Message, "expired") {
		t.Fatalf("register with an expired token: %+v", r)
	}
}

// entryV is entry with an explicit payload schema version, for entries older binaries wrote.
func entryV(t *testing.T, index uint64, typ command.Type, version uint8, p any) *raft.Log {
	t.Helper()
	c, err := command.New(typ, "", time.Unix(1700000000, 0), p)
	if err != nil {
		t.Fatal(err)
	}
	c.Version = version
	return logOf(t, index, c)
}

// TestTombstonesAndLegacyEntries: a delete with a tombstone keeps the ID out; entries written
// before tokens were checked (version 1, no token accessor, no tombstone) apply as they did then.
func TestTombstonesAndLegacyEntries(t *testing.T) {
	f := newFSM(t)
	f.Apply(entry(t, 1, command.TypeHostTokenCreate, "", command.HostTokenCreate{AccessorID: "tok", SecretHash: hash('t')}))
	f.Apply(entry(t, 2, command.TypeHostRegister, "", reg("a", 'a', "tok", 0)))
	if r := result(t, f.Apply(entry(t, 3, command.TypeHostDelete, "", command.HostDelete{HostID: "a", Tombstone: true}))); r.Code != "" {
		t.Fatal(r.Message)
	}
	if r := result(t, f.Apply(entry(t, 4, command.TypeHostRegister, "", reg("a", 'a', "tok", 0)))); r.Code != string(fault.Conflict) || !strings.Contains(r.Message, "fresh identity") {
		t.Fatalf("tombstoned id registered: %+v", r)
	}
	if r := result(t, f.Apply(entryV(t, 5, command.TypeHostRegister, 1, reg("a", 'a', "", 0)))); r.Code != "" {
		t.Fatalf("a legacy entry must apply as before: %+v", r)
	}
	f.Apply(entryV(t, 6, command.TypeHostRegister, 1, reg("b", 'b', "", 0)))
	f.Apply(entry(t, 7, command.TypeHostDelete, "", command.HostDelete{HostID: "b"})) // legacy: no tombstone
	if r := result(t, f.Apply(entry(t, 8, command.TypeHostRegister, "", reg("b", 'b', "tok", 0)))); r.Code != "" {
		t.Fatalf("a host deleted by a legacy entry left a tombstone: %+v", r)
	}
}

// TestTokenlessRegistrationNeedsVersion1: only a version 1 entry (written before tokens were
// checked at apply) may register without a token; a current entry without one is refused and
// registers nothing.
func TestTokenlessRegistrationNeedsVersion1(t *testing.T) {
	f := newFSM(t)
	r := result(t, f.Apply(entry(t, 1, command.TypeHostRegister, "", reg("a", 'a', "", 0))))
	if r.Code != string(fault.Unauthorized) || !strings.Contains(r.Message, "slipway host token create") {
		t.Fatalf("a current host.register without a token: %s %s; want 401 naming slipway host token create", r.Code, r.Message)
	}
	_ = f.Store().View(func(tx *state.Tx) error {
		if tx.HostExists("a") {
			t.Error("the refused registration created host a")
		}
		return nil
	})
	if r := result(t, f.Apply(entryV(t, 2, command.TypeHostRegister, 1, reg("b", 'b', "", 0)))); r.Code != "" {
		t.Fatalf("a version 1 entry without a token must apply as it did: %+v", r)
	}
}

// TestDeletedHostSecretCannotRegisterNewID: a deleted host's agent, holding a valid token, cannot
// come back under a new host ID with its old secret; a version 1 entry applies as it did.
func TestDeletedHostSecretCannotRegisterNewID(t *testing.T) {
	f := newFSM(t)
	f.Apply(entry(t, 1, command.TypeHostTokenCreate, "", command.HostTokenCreate{AccessorID: "tok", SecretHash: hash('t')}))
	if r := result(t, f.Apply(entry(t, 2, command.TypeHostRegister, "", reg("a", 'a', "tok", 0)))); r.Code != "" {
		t.Fatal(r.Message)
	}
	if r := result(t, f.Apply(entry(t, 3, command.TypeHostDelete, "", command.HostDelete{HostID: "a", Tombstone: true}))); r.Code != "" {
		t.Fatal(r.Message)
	}
	r := result(t, f.Apply(entry(t, 4, command.TypeHostRegister, "", reg("a2", 'a', "tok", 0))))
	if r.Code != string(fault.Conflict) || !strings.Contains(r.Message, "fresh identity") || !strings.Contains(r.Message, "host a ") {
		t.Fatalf("a new id with a deleted host's secret: %s %s; want 409 naming host a and a fresh identity", r.Code, r.Message)
	}
	if r := result(t, f.Apply(entry(t, 5, command.TypeHostRegister, "", reg("a3", 'c', "tok", 0)))); r.Code != "" {
		t.Fatalf("a new id with a fresh secret refused: %+v", r)
	}
	if r := result(t, f.Apply(entryV(t, 6, command.TypeHostRegister, 1, reg("a4", 'a', "tok", 0)))); r.Code != "" {
		t.Fatalf("a version 1 entry must apply as it did (secrets were not remembered then): %+v", r)
	}
}

// TestHostStatusCapabilities: an online status sets the host's capabilities (bounded, sorted,
// without duplicates); an offline one and an entry written before builds (none) keep them.
func TestHostStatusCapabilities(t *testing.T) {
	f := newFSM(t)
	exp := time.Unix(1700000000, 0).Add(time.Hour).UnixNano()
	f.Apply(entry(t, 1, command.TypeHostTokenCreate, "", command.HostTokenCreate{AccessorID: "tok", SecretHash: hash('t'), ExpirationTime: exp}))
	f.Apply(entry(t, 2, command.TypeHostRegister, "", reg("a", 'a', "tok", 0)))
	caps := func() []string {
		var h state.Host
		_ = f.Store().View(func(tx *state.Tx) error { h, _ = tx.GetHost("a"); return nil })
		return h.Capabilities
	}
	long := strings.Repeat("x", 65)
	f.Apply(entry(t, 3, command.TypeHostStatus, "", command.HostStatus{HostID: "a", Server: "s1", Online: true,
		Capabilities: []string{"docker", "build", "build", long, "deploy"}}))
	if got := strings.Join(caps(), ","); got != "build,deploy,docker" {
		t.Fatalf("capabilities online: %q", got)
	}
	f.Apply(entry(t, 4, command.TypeHostStatus, "", command.HostStatus{HostID: "a", Server: "s1"}))
	f.Apply(entry(t, 5, command.TypeHostStatus, "", command.HostStatus{HostID: "a", Server: "s2", Online: true})) // an old entry
	if got := strings.Join(caps(), ","); got != "build,deploy,docker" {
		t.Fatalf("capabilities after offline and an entry without them: %q", got)
	}
	f.Apply(entry(t, 6, command.TypeHostStatus, "", command.HostStatus{HostID: "a", Server: "s2", Online: true, Capabilities: []string{"deploy"}}))
	if got := strings.Join(caps(), ","); got != "deploy" {
		t.Fatalf("capabilities of a new session: %q", got)
	}
}
