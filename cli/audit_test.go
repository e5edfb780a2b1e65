package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
)

// auditedWrites proposes n audited writes (noop commands carrying a caller, as a write served
// for an authorized request does) through server i, a follower's forwarded to the leader.
func auditedWrites(t *testing.T, c *testutil.Cluster, i, n int, who string) {
	t.Helper()
	for k := range n {
		ctx := command.WithCaller(context.Background(), &command.Caller{Kind: "user", ID: "u-" + who, Name: who,
			Action: "kv:PutKey", Resource: fmt.Sprintf("key/%s-%d", who, k), Source: "10.0.0.7:5000", RequestID: fmt.Sprintf("http-%s-%d", who, k)})
		if _, err := command.Propose(ctx, c.Server(i).Node(), command.NoopCmd, time.Now(), command.Noop{}); err != nil {
			t.Fatal(err)
		}
	}
}

// auditVerify runs `slipway audit verify` against server i.
func auditVerify(t *testing.T, c *testutil.Cluster, i int, extra ...string) result {
	t.Helper()
	args := append([]string{"--addr", c.URL(i), "--token", testutil.ManagementToken, "audit", "verify"}, extra...)
	return runWith(t, context.Background(), nil, args...)
}

// TestAuditVerifyAcrossLeaderChangeRestoreAndTampering: on a 3-server cluster, audited writes
// through the leader and a follower land one record each with the caller's fields; `audit
// verify` passes, then again after the leader is killed and more is written, and after a
// snapshot restore; `audit verify --state` passes on the snapshot and on a copy of a stopped
// server's state, and fails on that copy with one record edited, naming the record.
func TestAuditVerifyAcrossLeaderChangeRestoreAndTampering(t *testing.T) {
	c := testutil.NewCluster(t, 3)
	ctx := context.Background()
	leader := c.WaitLeader()
	auditedWrites(t, c, leader, 3, "alice")
	auditedWrites(t, c, c.Follower(), 2, "bob") // forwarded: the caller travels in the entry

	cl := c.Client(leader)
	l, err := cl.AuditList(ctx, api.AuditFilter{Principal: "u-*"}, &api.QueryOptions{Consistent: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Records) != 5 || l.Records[0].Principal.Name != "bob" || l.Records[0].Resource != "key/bob-1" || l.Records[0].RequestID != "http-bob-1" ||
		l.Records[0].Action != "kv:PutKey" || l.Records[0].Outcome != "allowed" || l.Records[0].Source != "10.0.0.7:5000" {
		t.Fatalf("records %+v", l.Records)
	}
	res := auditVerify(t, c, leader)
	if res.code != ExitOK || !strings.HasPrefix(res.stdout, "Verified ") {
		t.Fatalf("verify: exit %d stdout %q stderr %q", res.code, res.stdout, res.stderr)
	}

	// Leader change: kill the leader, write more through the new one, verify on a survivor.
	c.Kill(leader)
	next := c.WaitLeader()
	auditedWrites(t, c, next, 3, "carol")
	res = auditVerify(t, c, next, "--output", "json")
	var v auditVerified
	decodeJSON(t, res, &v)
	if !v.Verified || v.To.Seq < 8 || v.Records != v.To.Seq-v.From.Seq {
		t.Fatalf("after the leader change: %+v", v)
	}
	c.Start(leader)

	// Snapshot restore: save, write more, restore; the trail is the snapshot's and verifies.
	snap := filepath.Join(t.TempDir(), "backup.snap")
	var buf bytes.Buffer
	if err := c.Client(next).SnapshotSave(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(snap, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	auditedWrites(t, c, next, 2, "dave")
	if err := c.Client(next).SnapshotRestore(ctx, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, func() error {
		l, err := c.Client(next).AuditList(ctx, api.AuditFilter{Principal: "dave"}, &api.QueryOptions{Consistent: true})
		if err != nil || len(l.Records) != 0 {
			return fmt.Errorf("dave's records after the restore: %v %w", l, err)
		}
		return nil
	})
	auditedWrites(t, c, c.WaitLeader(), 1, "erin")
	for i := range 3 {
		testutil.Eventually(t, 20*time.Second, func() error {
			if res := auditVerify(t, c, i); res.code != ExitOK {
				return fmt.Errorf("verify on server %d after the restore: exit %d stderr %q", i, res.code, res.stderr)
			}
			return nil
		})
	}

	// Offline: the snapshot verifies.
	res = auditVerify(t, c, next, "--state", snap)
	if res.code != ExitOK || !strings.HasPrefix(res.stdout, "Verified ") {
		t.Fatalf("verify --state snapshot: exit %d stdout %q stderr %q", res.code, res.stdout, res.stderr)
	}
	// A stopped server's state file, copied, verifies; with record 3 edited it fails naming it.
	stopped := c.Follower()
	c.Stop(stopped)
	orig, err := os.ReadFile(filepath.Join(c.Config(stopped).DataDir, "state", "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "state-copy.db")
	if err := os.WriteFile(cp, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	if res := auditVerify(t, c, next, "--state", cp); res.code != ExitOK {
		t.Fatalf("verify --state copy: exit %d stderr %q", res.code, res.stderr)
	}
	seq := editRecord(t, cp, `"name":"alice"`, `"name":"mallory"`)
	res = auditVerify(t, c, next, "--state", cp)
	if res.code != ExitFailure || !strings.Contains(res.stderr, fmt.Sprintf("audit record %d was edited", seq)) {
		t.Fatalf("verify --state edited copy: exit %d stdout %q stderr %q", res.code, res.stdout, res.stderr)
	}
}

// editRecord replaces old with new in the stored JSON of the first audit record of a state file
// that holds old, and returns that record's sequence number.
func editRecord(t *testing.T, path string, old, new string) uint64 {
	t.Helper()
	var seq uint64
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("audit"))
		var key []byte
		cur := b.Cursor()
		for k, v := cur.First(); k != nil; k, v = cur.Next() {
			if strings.Contains(string(v), old) {
				key = k
				break
			}
		}
		if key == nil {
			return fmt.Errorf("no audit record holds %s", old)
		}
		seq = binary.BigEndian.Uint64(key)
		v := string(b.Get(key))
		return b.Put(bytes.Clone(key), []byte(strings.Replace(v, old, new, 1)))
	})
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// TestIAMReportActiveUsers: the report lists the month's principals, as a table and as JSON;
// a month not written YYYY-MM is a usage error.
func TestIAMReportActiveUsers(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	auditedWrites(t, c, 0, 2, "alice")
	month := time.Now().UTC().Format("2006-01")
	base := []string{"--addr", c.URL(0), "--token", testutil.ManagementToken, "iam", "report", "active-users", "--month", month}
	res := runWith(t, context.Background(), nil, base...)
	if res.code != ExitOK || !strings.Contains(res.stdout, "alice") || !strings.Contains(res.stdout, "u-alice") {
		t.Fatalf("report: exit %d stdout %q stderr %q", res.code, res.stdout, res.stderr)
	}
	var rep api.ActiveUsersReport
	decodeJSON(t, runWith(t, context.Background(), nil, append(base, "--output", "json")...), &rep)
	found := false
	for _, u := range rep.Users {
		found = found || (u.Principal.Name == "alice" && u.Requests == 2)
	}
	if rep.Month != month || !found {
		t.Fatalf("report %+v", rep)
	}
	res = runWith(t, context.Background(), nil, "--addr", c.URL(0), "iam", "report", "active-users", "--month", "11/2026")
	if res.code != 2 || !strings.Contains(res.stderr, "YYYY-MM") {
		t.Fatalf("bad month: exit %d stderr %q", res.code, res.stderr)
	}
	// audit list and export through the CLI.
	res = runWith(t, context.Background(), nil, "--addr", c.URL(0), "--token", testutil.ManagementToken, "audit", "list", "--principal", "alice", "--output", "json")
	var recs []api.AuditRecord
	decodeJSON(t, res, &recs)
	if len(recs) != 2 || recs[0].Seq <= recs[1].Seq {
		t.Fatalf("audit list: %+v", recs)
	}
	res = runWith(t, context.Background(), nil, "--addr", c.URL(0), "--token", testutil.ManagementToken, "audit", "export")
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if res.code != ExitOK || len(lines) < 3 || !strings.HasPrefix(lines[0], `{"audit_export":`) {
		t.Fatalf("audit export: exit %d stdout %q", res.code, res.stdout)
	}
	if v, err := auditVerifyStream(strings.NewReader(res.stdout)); err != nil || v.Records != uint64(len(lines)-1) {
		t.Fatalf("the exported file does not verify: %+v %v", v, err)
	}
}

// TestAuditTrailThroughTheEdge is issue 16's audit "Done means" end to end through the CLI and
// the real API edge: a user allowed to read one app is denied on another app and on a write, and
// both denials are in `slipway audit list` under the user's name with the action, the resource,
// outcome denied and code forbidden; her allowed read is her activity of the day; the
// administrator's write is recorded allowed and a refused one failed with its code, each once;
// the whole trail verifies; the active-users report counts her.
func TestAuditTrailThroughTheEdge(t *testing.T) {
	c, cli := iamCLI(t)
	must(t, "app shop", cli("", "", "app", "create", "shop"))
	must(t, "app web", cli("", "", "app", "create", "web"))
	refused(t, "app shop again", cli("", "", "app", "create", "shop"), ExitFailure, "exists")
	must(t, "user", cli("", "", "iam", "user", "create", "ana"))
	must(t, "policy", cli("", shopReadYAML, "iam", "policy", "create", "shop-read", "--document", "-"))
	must(t, "attach", cli("", "", "iam", "policy", "attach", "shop-read", "--user", "ana"))
	r := cli("", "", "iam", "token", "create", "--user", "ana", "--output", "json")
	var tok struct {
		Secret string `json:"secret"`
	}
	decodeJSON(t, r, &tok)
	must(t, "ana reads shop", cli(tok.Secret, "", "app", "get", "shop"), "shop")
	refused(t, "ana reads web", cli(tok.Secret, "", "app", "get", "web"), ExitFailure, "not allowed")
	refused(t, "ana deletes shop", cli(tok.Secret, "", "app", "delete", "shop"), ExitFailure, "not allowed")

	var recs []api.AuditRecord
	testutil.Eventually(t, 10*time.Second, func() error { // denials and activity go through the writer
		r := cli("", "", "audit", "list", "--principal", "ana", "--output", "json")
		if r.code != 0 {
			return fmt.Errorf("audit list: exit %d %s", r.code, r.stderr)
		}
		recs = nil
		if err := json.Unmarshal([]byte(r.stdout), &recs); err != nil {
			return err
		}
		if len(recs) < 3 {
			return fmt.Errorf("%d records of ana", len(recs))
		}
		return nil
	})
	find := func(action, resource, outcome string) []api.AuditRecord {
		var out []api.AuditRecord
		for _, r := range recs {
			if r.Action == action && r.Resource == resource && r.Outcome == outcome {
				out = append(out, r)
			}
		}
		return out
	}
	for _, d := range []struct{ action, resource string }{
		{"codedeploy:GetApplication", "srn:slipway:codedeploy:app/web"},
		{"codedeploy:DeleteApplication", "srn:slipway:codedeploy:app/shop"},
	} {
		got := find(d.action, d.resource, "denied")
		if len(got) != 1 || got[0].ErrorCode != "forbidden" || got[0].Principal.Kind != "user" || got[0].Principal.Name != "ana" ||
			got[0].RequestID == "" || got[0].Source == "" {
			t.Fatalf("denial %s on %s: %+v in %+v", d.action, d.resource, got, recs)
		}
	}
	if got := find("codedeploy:GetApplication", "srn:slipway:codedeploy:app/shop", "allowed"); len(got) != 1 {
		t.Fatalf("ana's activity of the day: %+v in %+v", got, recs)
	}

	r = cli("", "", "audit", "list", "--action", "codedeploy:CreateApplication", "--output", "json")
	var creates []api.AuditRecord
	decodeJSON(t, r, &creates)
	outcomes := map[string]int{}
	for _, rec := range creates {
		outcomes[rec.Resource+" "+rec.Outcome+" "+rec.ErrorCode]++
		if rec.Principal.Kind != "token" || rec.Principal.Name == "" {
			t.Fatalf("create recorded for %+v", rec.Principal)
		}
	}
	want := map[string]int{"srn:slipway:codedeploy:app/* allowed ": 2, "srn:slipway:codedeploy:app/* failed conflict": 1}
	if fmt.Sprint(outcomes) != fmt.Sprint(want) {
		t.Fatalf("app creates recorded %v, want %v", outcomes, want)
	}

	if res := auditVerify(t, c, 0); res.code != ExitOK {
		t.Fatalf("verify: exit %d stderr %q", res.code, res.stderr)
	}
	r = cli("", "", "iam", "report", "active-users", "--month", time.Now().UTC().Format("2006-01"), "--output", "json")
	var rep api.ActiveUsersReport
	decodeJSON(t, r, &rep)
	found := false
	for _, u := range rep.Users {
		found = found || (u.Principal.Kind == "user" && u.Principal.Name == "ana" && u.Requests >= 3)
	}
	if !found {
		t.Fatalf("ana is not an active user: %+v", rep)
	}
}
