package kv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// TestKVOverHTTP drives the store through pkg/api against a real one-node server: create-only,
// read, conditional replace, listing by prefix a page at a time, conditional delete, and the
// refusals with their statuses.
func TestKVOverHTTP(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	cl := c.Client(0)

	created, err := cl.KVPut(ctx, "builds/cache/max-size", []byte("10GiB"), pub.CAS(0))
	if err != nil {
		t.Fatal(err)
	}
	if created.Key != "builds/cache/max-size" || string(created.Value) != "10GiB" || created.CreateIndex == 0 || created.ModifyIndex != created.CreateIndex {
		t.Fatalf("created %+v", created)
	}
	if _, err := cl.KVPut(ctx, "builds/cache/max-size", []byte("1GiB"), pub.CAS(0)); !pub.IsConflict(err) {
		t.Fatalf("create-only on an existing key: %v, want a conflict", err)
	}
	got, err := cl.KVGet(ctx, "builds/cache/max-size", &pub.QueryOptions{Consistent: true})
	if err != nil || string(got.Value) != "10GiB" || got.ModifyIndex != created.ModifyIndex {
		t.Fatalf("get %+v, %v", got, err)
	}
	upd, err := cl.KVPut(ctx, "builds/cache/max-size", []byte("20GiB"), pub.CAS(got.ModifyIndex))
	if err != nil || upd.ModifyIndex <= got.ModifyIndex || upd.CreateIndex != created.CreateIndex {
		t.Fatalf("conditional replace: %+v, %v", upd, err)
	}
	if _, err := cl.KVPut(ctx, "builds/cache/max-size", []byte("stale"), pub.CAS(got.ModifyIndex)); !pub.IsConflict(err) {
		t.Fatalf("replace with a stale index: %v, want a conflict", err)
	}
	binary := []byte{0, 1, 2, 0xff, '\n'}
	if _, err := cl.KVPut(ctx, "builds/token", binary, nil); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"pipelines/a", "pipelines/b", "console/theme"} {
		if _, err := cl.KVPut(ctx, k, []byte(k), nil); err != nil {
			t.Fatal(err)
		}
	}

	// A prefix, a page at a time.
	var keys []string
	q := &pub.QueryOptions{Limit: 1}
	for pages := 0; ; pages++ {
		l, err := cl.KVList(ctx, "builds/", q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range l.Entries {
			keys = append(keys, e.Key)
			if e.Key == "builds/token" && string(e.Value) != string(binary) {
				t.Fatalf("binary value came back as %q", e.Value)
			}
		}
		if l.Next == "" {
			break
		}
		if pages > 3 {
			t.Fatal("listing does not end")
		}
		q.Next = l.Next
	}
	if strings.Join(keys, ",") != "builds/cache/max-size,builds/token" {
		t.Fatalf("keys under builds/: %v", keys)
	}
	all, err := cl.KVList(ctx, "", nil)
	if err != nil || len(all.Entries) != 5 || all.Entries[0].Key != "builds/cache/max-size" || all.Next != "" {
		t.Fatalf("list all: %+v, %v", all, err)
	}

	// Conditional delete, then a missing key.
	if err := cl.KVDelete(ctx, "builds/cache/max-size", pub.CAS(got.ModifyIndex)); !pub.IsConflict(err) {
		t.Fatalf("delete with a stale index: %v, want a conflict", err)
	}
	if err := cl.KVDelete(ctx, "builds/cache/max-size", pub.CAS(upd.ModifyIndex)); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.KVGet(ctx, "builds/cache/max-size", nil); !pub.IsNotFound(err) {
		t.Fatalf("get a deleted key: %v, want not found", err)
	}
	if err := cl.KVDelete(ctx, "builds/cache/max-size", nil); !pub.IsNotFound(err) {
		t.Fatalf("delete a missing key: %v, want not found", err)
	}

	// Any token reads; only a management token writes.
	reader, err := cl.TokenCreate(ctx, "reader", pub.TokenTypeClient, 0)
	if err != nil {
		t.Fatal(err)
	}
	rc := c.ClientWithToken(0, reader.SecretID)
	if _, err := rc.KVGet(ctx, "console/theme", nil); err != nil {
		t.Fatalf("client token reads: %v", err)
	}
	if _, err := rc.KVList(ctx, "", nil); err != nil {
		t.Fatalf("client token lists: %v", err)
	}
	if _, err := rc.KVPut(ctx, "console/theme", []byte("dark"), nil); pub.ErrorCode(err) != pub.CodeForbidden {
		t.Fatalf("client token writes: %v, want forbidden", err)
	}
	if err := rc.KVDelete(ctx, "console/theme", nil); pub.ErrorCode(err) != pub.CodeForbidden {
		t.Fatalf("client token deletes: %v, want forbidden", err)
	}
}

// TestKVRefusals checks the answers to bad requests, as raw HTTP: status, code and a message
// that names what to fix.
func TestKVRefusals(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	base := c.URL(0) + "/v1/kv"
	big := fmt.Sprintf(`{"value":"%s"}`, strings.Repeat("A", (64<<10+3)/3*4+8))
	for _, tc := range []struct {
		name, method, url, body string
		status                  int
		msg                     string
	}{
		{"value over 64 KiB", "PUT", base + "/big", big, 413, "at most 65536 bytes"},
		{"bad character", "PUT", base + "/a%20b", `{"value":"eA=="}`, 400, "character outside"},
		{"empty key", "PUT", base + "/", `{"value":"eA=="}`, 400, "key is empty"},
		{"trailing slash", "PUT", base + "/a/", `{"value":"eA=="}`, 400, "empty path segment"},
		{"dots", "PUT", base + "/a..b", `{"value":"eA=="}`, 400, "contains .."},
		{"not base64", "PUT", base + "/a", `{"value":"%%%"}`, 400, "invalid request body"},
		{"unknown field", "PUT", base + "/a", `{"value":"eA==","ttl":5}`, 400, "unknown field"},
		{"bad cas on delete", "DELETE", base + "/a?cas=x", ``, 400, "cas must be"},
		{"cas=0 on delete", "DELETE", base + "/a?cas=0", ``, 400, "create only"},
		{"missing key", "GET", base + "/nope", ``, 404, "not found"},
		{"bad prefix", "GET", base + "?prefix=a%20b", ``, 400, "prefix"},
		{"bad limit", "GET", base + "?limit=0", ``, 400, "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+testutil.ManagementToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			raw, _ := io.ReadAll(resp.Body)
			var eb pub.ErrorBody
			_ = json.Unmarshal(raw, &eb)
			if resp.StatusCode != tc.status || eb.Error.Code == "" || !strings.Contains(eb.Error.Message, tc.msg) {
				t.Fatalf("status %d body %s; want %d saying %q", resp.StatusCode, raw, tc.status, tc.msg)
			}
		})
	}
}

// TestKVSurvivesLeaderChange writes through a follower of a three-node cluster, kills the leader,
// and reads the value (consistently) from the new leader; a conditional write on the index read
// before the change still applies, because the index is the log's, not the leader's.
func TestKVSurvivesLeaderChange(t *testing.T) {
	c := testutil.NewCluster(t, 3)
	ctx := context.Background()
	leader := c.WaitLeader()
	e, err := c.Client(c.Follower()).KVPut(ctx, "console/banner", []byte("hello"), pub.CAS(0))
	if err != nil {
		t.Fatal(err)
	}
	c.Kill(leader)
	next := c.WaitLeader()
	if next == leader {
		t.Fatal("the killed server still leads")
	}
	var got *pub.KVEntry
	testutil.Eventually(t, 20*time.Second, func() error {
		var err error
		got, err = c.Client(next).KVGet(ctx, "console/banner", &pub.QueryOptions{Consistent: true})
		return err
	})
	if string(got.Value) != "hello" || got.ModifyIndex != e.ModifyIndex || got.CreateIndex != e.CreateIndex {
		t.Fatalf("after the leader change: %+v, written %+v", got, e)
	}
	upd, err := c.Client(next).KVPut(ctx, "console/banner", []byte("bye"), pub.CAS(e.ModifyIndex))
	if err != nil || string(upd.Value) != "bye" {
		t.Fatalf("conditional write after the change: %+v, %v", upd, err)
	}
}

// TestKVSnapshotRestore: the store's buckets travel in snapshots; a restore brings back the keys
// and indexes of the moment of the save, and the store takes writes after it.
func TestKVSnapshotRestore(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	cl := c.Client(0)
	a, err := cl.KVPut(ctx, "keep/a", []byte("1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.KVPut(ctx, "keep/b", []byte("2"), nil); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := cl.SnapshotSave(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.KVPut(ctx, "after/snapshot", []byte("3"), nil); err != nil {
		t.Fatal(err)
	}
	if err := cl.KVDelete(ctx, "keep/a", nil); err != nil {
		t.Fatal(err)
	}
	if err := cl.SnapshotRestore(ctx, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	l, err := cl.KVList(ctx, "", &pub.QueryOptions{Consistent: true})
	if err != nil || len(l.Entries) != 2 || l.Entries[0].Key != "keep/a" || l.Entries[1].Key != "keep/b" {
		t.Fatalf("after restore: %+v, %v; want keep/a and keep/b", l, err)
	}
	if l.Entries[0].ModifyIndex != a.ModifyIndex || string(l.Entries[0].Value) != "1" {
		t.Fatalf("keep/a after restore: %+v, written %+v", l.Entries[0], a)
	}
	if _, err := cl.KVPut(ctx, "keep/a", []byte("4"), pub.CAS(a.ModifyIndex)); err != nil {
		t.Fatalf("a CAS write on the restored index: %v", err)
	}
}
