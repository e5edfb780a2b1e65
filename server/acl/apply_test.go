package acl_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/slipwayhq/slipway/server/acl"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
)

var cmdTime = time.Unix(1700000000, 0).UTC()

// newFSM is a state machine with the ACL service registered the way the server registers it.
func newFSM(t testing.TB) *fsm.FSM {
	t.Helper()
	reg := module.NewRegistry(fsm.NewTable())
	reg.Add(&module.Core{}, acl.New(""))
	s, err := state.Open(filepath.Join(t.TempDir(), "state.db"), reg.AllBuckets()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return fsm.New(s, reg.Table(), slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// apply applies one command at index and returns its result.
func apply[T any](t testing.TB, f *fsm.FSM, index uint64, d command.Def[T], p T) command.Result {
	t.Helper()
	c, err := d.New("", cmdTime, p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := command.Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: b}).(command.Result)
	if !ok {
		t.Fatal("apply did not answer a command.Result")
	}
	return r
}

func token(accessor string, c byte) acl.Token {
	return acl.Token{AccessorID: accessor, SecretHash: strings.Repeat(string(c), 64), Name: accessor, Type: "client"}
}

// TestLogFormat pins what the ACL commands write to the Raft log: numbers, names, schema
// versions and payload JSON must never change.
func TestLogFormat(t *testing.T) {
	for _, tc := range []struct {
		typ     command.Type
		name    string
		version uint8
		got     command.Type
		gotName string
		gotV    uint8
	}{
		{10, "acl.bootstrap", 1, acl.CmdBootstrap.Type(), acl.CmdBootstrap.Name(), acl.CmdBootstrap.Version()},
		{11, "token.create", 2, acl.CmdCreateToken.Type(), acl.CmdCreateToken.Name(), acl.CmdCreateToken.Version()},
		{12, "token.revoke", 1, acl.CmdRevokeToken.Type(), acl.CmdRevokeToken.Name(), acl.CmdRevokeToken.Version()},
	} {
		if tc.got != tc.typ || tc.gotName != tc.name || tc.gotV != tc.version {
			t.Errorf("%s: defined as %d %s v%d, want %d %s v%d", tc.name, tc.got, tc.gotName, tc.gotV, tc.typ, tc.name, tc.version)
		}
	}
	for _, tc := range []struct {
		v    any
		want string
	}{
		{acl.CreateTokenPayload{Token: acl.Token{AccessorID: "a", SecretHash: "h", Name: "n", Type: "client"}},
			`{"token":{"accessor_id":"a","secret_hash":"h","name":"n","type":"client"}}`},
		{acl.BootstrapPayload{Token: acl.Token{AccessorID: "a", SecretHash: "h", Name: "n", Type: "management", Policies: []string{"p"}, ExpirationTime: 5}},
			`{"token":{"accessor_id":"a","secret_hash":"h","name":"n","type":"management","policies":["p"],"expiration_time":5}}`},
		{acl.RevokeTokenPayload{AccessorID: "a"}, `{"accessor_id":"a"}`},
	} {
		b, err := json.Marshal(tc.v)
		if err != nil || string(b) != tc.want {
			t.Errorf("%T encodes as %s (%v), want %s", tc.v, b, err, tc.want)
		}
	}
}

func TestBootstrapOnce(t *testing.T) {
	f := newFSM(t)
	r := apply(t, f, 3, acl.CmdBootstrap, acl.BootstrapPayload{Token: token("first", 'a')})
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	tk, err := command.Data[state.Token](r)
	if err != nil || tk.CreateIndex != 3 || !tk.CreateTime.Equal(cmdTime) || tk.AccessorID != "first" {
		t.Fatalf("bootstrap answered %+v, %v", tk, err)
	}
	r = apply(t, f, 4, acl.CmdBootstrap, acl.BootstrapPayload{Token: token("second", 'b')})
	want := "ACL bootstrap already done (at index 3): ask an operator with a management token to `slipway token create` one for you"
	if fault.Code(r.Code) != fault.Conflict || r.Message != want {
		t.Fatalf("second bootstrap: %+v, want a conflict saying %q", r, want)
	}
	_ = f.Store().View(func(tx *state.Tx) error {
		if _, err := tx.GetToken("second"); fault.CodeOf(err) != fault.NotFound {
			t.Errorf("a refused bootstrap stored its token: %v", err)
		}
		return nil
	})
}

func TestCreateAndRevoke(t *testing.T) {
	f := newFSM(t)
	p := acl.CreateTokenPayload{Token: token("t1", 'a')}
	p.Token.ExpirationTime = cmdTime.Add(time.Hour).UnixNano()
	if r := apply(t, f, 1, acl.CmdCreateToken, p); r.Err() != nil {
		t.Fatal(r.Err())
	}
	if r := apply(t, f, 2, acl.CmdCreateToken, acl.CreateTokenPayload{Token: token("t1", 'b')}); fault.Code(r.Code) != fault.Conflict {
		t.Fatalf("same accessor again: %+v, want a conflict", r)
	}
	if r := apply(t, f, 3, acl.CmdCreateToken, acl.CreateTokenPayload{Token: token("t2", 'a')}); fault.Code(r.Code) != fault.Conflict {
		t.Fatalf("same secret hash again: %+v, want a conflict", r)
	}
	if r := apply(t, f, 4, acl.CmdCreateToken, acl.CreateTokenPayload{Token: acl.Token{AccessorID: "t3", SecretHash: "short"}}); fault.Code(r.Code) != fault.Invalid {
		t.Fatalf("a hash that is not sha256: %+v, want invalid", r)
	}
	_ = f.Store().View(func(tx *state.Tx) error {
		tk, err := tx.TokenBySecretHash(strings.Repeat("a", 64))
		if err != nil || tk.AccessorID != "t1" || tk.ExpirationTime == nil || !tk.ExpirationTime.Equal(cmdTime.Add(time.Hour)) {
			t.Errorf("stored token %+v, %v", tk, err)
		}
		return nil
	})
	if r := apply(t, f, 5, acl.CmdRevokeToken, acl.RevokeTokenPayload{AccessorID: "t1"}); r.Err() != nil {
		t.Fatal(r.Err())
	}
	if r := apply(t, f, 6, acl.CmdRevokeToken, acl.RevokeTokenPayload{AccessorID: "t1"}); fault.Code(r.Code) != fault.NotFound {
		t.Fatalf("revoke twice: %+v, want not found", r)
	}
	_ = f.Store().View(func(tx *state.Tx) error {
		if _, err := tx.TokenBySecretHash(strings.Repeat("a", 64)); fault.CodeOf(err) != fault.NotFound {
			t.Errorf("a revoked token's secret still resolves: %v", err)
		}
		return nil
	})
}
