package auditlog_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fsm"
)

// appendRecords proposes entries through a server's Raft member, as the Writer does.
func appendRecords(t *testing.T, c *testutil.Cluster, entries ...command.AuditEntry) {
	t.Helper()
	_, err := command.Propose(context.Background(), c.Server(0).Node(), command.AuditAppendCmd, time.Now(), command.AuditAppend{Records: entries})
	if err != nil {
		t.Fatal(err)
	}
}

func entry(at time.Time, kind, name, action, resource, outcome string) command.AuditEntry {
	return command.AuditEntry{Time: at.UnixNano(), Kind: kind, ID: "id-" + name, Name: name, Action: action, Resource: resource, Outcome: outcome, Source: "10.0.0.9:1234"}
}

// verifyExport reads an export and verifies it from its header's From to its To.
func verifyExport(t *testing.T, b []byte) (api.AuditExportRange, []audit.Record, error) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(b))
	if !sc.Scan() {
		t.Fatal("empty export")
	}
	var h api.AuditExportHeader
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
		t.Fatalf("header %q: %v", sc.Bytes(), err)
	}
	var recs []audit.Record
	for sc.Scan() {
		var r audit.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Bytes(), err)
		}
		recs = append(recs, r)
	}
	anchor := func(a api.AuditAnchor) audit.Anchor {
		var d audit.Digest
		if err := d.UnmarshalText([]byte(a.Hash)); err != nil {
			t.Fatal(err)
		}
		return audit.Anchor{Seq: a.Seq, Hash: d}
	}
	err := audit.VerifyTo(anchor(h.Export.From), anchor(h.Export.To), seq2(recs))
	return h.Export, recs, err
}

func seq2(rs []audit.Record) iter.Seq2[audit.Record, error] {
	return func(yield func(audit.Record, error) bool) {
		for _, r := range rs {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// names are the records of this test (IDs id-...), as "seq-base:name".
func names(rs []api.AuditRecord, base uint64) []string {
	out := []string{}
	for _, r := range rs {
		if strings.HasPrefix(r.Principal.ID, "id-") {
			out = append(out, fmt.Sprint(r.Seq-base, ":", r.Principal.Name))
		}
	}
	return out
}

// TestListExportHeadActiveUsersAndTrim drives the routes over a real server: list filters and
// paging (newest first), export verified end to end (whole and a time range), the head, the
// active-users report over a month, and retention trimming what is old while the rest still
// verifies from the new anchor.
func TestListExportHeadActiveUsersAndTrim(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	cl := c.Client(0)
	ctx := context.Background()
	// The cluster's own start made requests with the management token: its activity record of
	// the day comes first, and this test's requests (the same principal, the same day) add none.
	// base is the head before this test's records, which are base+1 to base+6.
	var base uint64
	testutil.Eventually(t, 10*time.Second, func() error {
		h, err := cl.AuditHead(ctx, nil)
		if err == nil && h.Records == 0 {
			err = fmt.Errorf("no activity record yet")
		}
		if err == nil {
			base = h.Head.Seq
		}
		return err
	})
	oct := time.Date(2031, 10, 30, 12, 0, 0, 0, time.UTC) // after today's activity record, in order
	nov := time.Date(2031, 11, 2, 9, 0, 0, 0, time.UTC)
	appendRecords(t, c,
		entry(oct, "user", "alice", "codedeploy:CreateApplication", "app/shop", "allowed"),               // 1
		entry(nov, "user", "alice", "codedeploy:DeleteApplication", "app/shop", "denied"),                // 2
		entry(nov.Add(time.Hour), "user", "bob", "codedeploy:GetApplication", "app/web", "allowed"),      // 3
		entry(nov.Add(2*time.Hour), "token", "ci", "kv:PutKey", "key/a", "allowed"),                      // 4
		entry(nov.Add(3*time.Hour), "host", "h1", "agent:OpenSession", "host/self", "allowed"),           // 5
		entry(nov.Add(24*time.Hour), "user", "alice", "codedeploy:GetApplication", "app/web", "allowed"), // 6
	)

	list := func(f api.AuditFilter, q *api.QueryOptions) *api.AuditRecordList {
		t.Helper()
		l, err := cl.AuditList(ctx, f, q)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	for name, tc := range map[string]struct {
		f    api.AuditFilter
		want []string
	}{
		"all":               {api.AuditFilter{}, []string{"6:alice", "5:h1", "4:ci", "3:bob", "2:alice", "1:alice"}},
		"principal name":    {api.AuditFilter{Principal: "alice"}, []string{"6:alice", "2:alice", "1:alice"}},
		"principal id":      {api.AuditFilter{Principal: "id-bob"}, []string{"3:bob"}},
		"action prefix":     {api.AuditFilter{Action: "codedeploy:*"}, []string{"6:alice", "3:bob", "2:alice", "1:alice"}},
		"action exact":      {api.AuditFilter{Action: "codedeploy:GetApplication"}, []string{"6:alice", "3:bob"}},
		"resource":          {api.AuditFilter{Resource: "app/shop"}, []string{"2:alice", "1:alice"}},
		"since until":       {api.AuditFilter{Since: nov, Until: nov.Add(2 * time.Hour)}, []string{"3:bob", "2:alice"}},
		"combined":          {api.AuditFilter{Principal: "ali*", Action: "codedeploy:Get*"}, []string{"6:alice"}},
		"no match":          {api.AuditFilter{Principal: "mallory"}, []string{}},
		"prefix is no glob": {api.AuditFilter{Resource: "app/*/x"}, []string{}},
	} {
		if got := names(list(tc.f, nil).Records, base); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
	// Paging: two at a time, newest first, cursors until the end.
	var paged []string
	next := ""
	for range 10 {
		l := list(api.AuditFilter{Principal: "id-*"}, &api.QueryOptions{Limit: 2, Next: next})
		if len(l.Records) > 2 {
			t.Errorf("a page of limit 2 holds %d records", len(l.Records))
		}
		paged = append(paged, names(l.Records, base)...)
		if next = l.Next; next == "" {
			break
		}
	}
	if want := []string{"6:alice", "5:h1", "4:ci", "3:bob", "2:alice", "1:alice"}; !slices.Equal(paged, want) {
		t.Errorf("paged %v", paged)
	}
	if _, err := cl.AuditList(ctx, api.AuditFilter{}, &api.QueryOptions{Next: "x"}); api.ErrorCode(err) != api.CodeBadRequest {
		t.Errorf("a bad cursor: %v", err)
	}

	// Export: the whole trail verifies from the anchor to the head; a time range from the record
	// before it to its last record.
	var buf bytes.Buffer
	if err := cl.AuditExport(ctx, time.Time{}, time.Time{}, &buf); err != nil {
		t.Fatal(err)
	}
	rng, recs, err := verifyExport(t, buf.Bytes())
	if err != nil || len(recs) != int(base)+6 || rng.From.Seq != 0 || rng.To.Seq != base+6 || rng.Head != rng.To {
		t.Fatalf("export: %v, %d records, %+v", err, len(recs), rng)
	}
	buf.Reset()
	if err := cl.AuditExport(ctx, nov, nov.Add(3*time.Hour), &buf); err != nil {
		t.Fatal(err)
	}
	rng, recs, err = verifyExport(t, buf.Bytes())
	if err != nil || len(recs) != 3 || rng.From.Seq != base+1 || rng.To.Seq != base+4 || recs[1].Principal.Name != "bob" {
		t.Fatalf("ranged export: %v, %d records, %+v", err, len(recs), rng)
	}
	// An edited line is found.
	edited := bytes.Replace(buf.Bytes(), []byte(`"name":"bob"`), []byte(`"name":"eve"`), 1)
	var ae *audit.Error
	if _, _, err := verifyExport(t, edited); !errors.As(err, &ae) || ae.Seq != base+3 {
		t.Fatalf("edited export: %v", err)
	}

	head, err := cl.AuditHead(ctx, nil)
	if err != nil || head.Head.Seq != base+6 || head.Anchor.Seq != 0 || head.Records != base+6 || len(head.Head.Hash) != 64 {
		t.Fatalf("head %+v %v", head, err)
	}

	rep, err := cl.ActiveUsers(ctx, "2031-11")
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	for _, u := range rep.Users {
		users = append(users, fmt.Sprint(u.Principal.Kind, ":", u.Principal.Name, ":", u.Requests))
	}
	if want := []string{"token:ci:1", "user:alice:2", "user:bob:1"}; rep.Month != "2031-11" || !slices.Equal(users, want) {
		t.Fatalf("active users %s %v, want %v", rep.Month, users, want)
	}
	if _, err := cl.ActiveUsers(ctx, "November"); api.ErrorCode(err) != api.CodeBadRequest {
		t.Fatalf("a bad month: %v", err)
	}

	// Retention (a year by default): nothing is due, today's activity record first.
	if n, err := c.Server(0).AuditLog().TrimOnce(ctx); err != nil || n != 0 {
		t.Fatalf("trimmed %d, %v", n, err)
	}
	// A trim with a later cutoff (as a leader in 2032 proposes) trims them all, keeps the
	// anchor, and what comes after still verifies from it; a second one is a no-op.
	trim := func() int {
		cut := time.Date(2032, 12, 1, 0, 0, 0, 0, time.UTC)
		res, err := command.Propose(ctx, c.Server(0).Node(), command.AuditTrimCmd, cut, command.AuditTrim{Cutoff: cut.UnixNano()})
		if err != nil {
			t.Fatal(err)
		}
		v, err := command.Data[fsm.AuditTrimmed](res)
		if err != nil {
			t.Fatal(err)
		}
		return v.Trimmed
	}
	if n := trim(); n != int(base)+6 {
		t.Fatalf("trimmed %d, want %d", n, base+6)
	}
	if n := trim(); n != 0 {
		t.Fatalf("a trim of nothing trimmed %d", n)
	}
	appendRecords(t, c, entry(time.Date(2033, 1, 1, 0, 0, 0, 0, time.UTC), "user", "carol", "codedeploy:GetApplication", "app/web", "allowed"))
	buf.Reset()
	if err := cl.AuditExport(ctx, time.Time{}, time.Time{}, &buf); err != nil {
		t.Fatal(err)
	}
	rng, recs, err = verifyExport(t, buf.Bytes())
	if err != nil || len(recs) != 1 || rng.From.Seq != base+6 || rng.Anchor.Seq != base+6 || rng.To.Seq != base+7 {
		t.Fatalf("after trim: %v, %d records, %+v", err, len(recs), rng)
	}
}

// TestWriterRecordsReachTheTrail: a record given to the server's Writer (a denied request, as
// the API edge will give it) lands in the replicated trail.
func TestWriterRecordsReachTheTrail(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	w := c.Server(0).AuditLog().Writer()
	w.Record(audit.Record{Time: time.Now(), Principal: audit.Principal{Kind: audit.KindUser, ID: "u-9", Name: "mallory"},
		Action: "codedeploy:DeleteApplication", Resource: "app/web", Source: "10.1.1.1:5", RequestID: "r-1",
		Outcome: audit.OutcomeDenied, ErrorCode: "forbidden"})
	w.Seen(audit.Principal{Kind: audit.KindUser, ID: "u-8", Name: "reader"}, "codedeploy:ListApplications", "app/*", "10.1.1.2:6", "r-2", time.Now())
	testutil.Eventually(t, 10*time.Second, func() error {
		l, err := c.Client(0).AuditList(context.Background(), api.AuditFilter{Principal: "u-*"}, nil)
		if err != nil {
			return err
		}
		if len(l.Records) != 2 {
			return fmt.Errorf("%d records", len(l.Records))
		}
		d := l.Records[1]
		if d.Principal.Name != "mallory" || d.Outcome != "denied" || d.ErrorCode != "forbidden" || d.RequestID != "r-1" || d.Resource != "app/web" {
			return fmt.Errorf("denied record %+v", d)
		}
		if a := l.Records[0]; a.Principal.Name != "reader" || a.Outcome != "allowed" || a.Action != "codedeploy:ListApplications" {
			return fmt.Errorf("activity record %+v", a)
		}
		return nil
	})
}
