package secrets_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/secrets"
)

func str(s string) *string { return &s }

// TestSecretsOverHTTP drives the store through pkg/api against a real one-node server: create
// only, metadata, value, versions with CAS, descriptions, listing a page at a time, delete, and
// the refusals with their statuses.
func TestSecretsOverHTTP(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	cl := c.Client(0)

	created, err := cl.SecretPut(ctx, "prod/db/password", pub.SecretPutRequest{Value: []byte("hunter2"), Description: str("the shop's database"), CAS: pub.CAS(0)})
	if err != nil {
		t.Fatal(err)
	}
	if created.Name != "prod/db/password" || created.Version != 1 || len(created.ID) != 32 || !strings.HasPrefix(created.KeyID, "dk-") ||
		created.CreateIndex == 0 || created.ModifyIndex != created.CreateIndex || created.Description != "the shop's database" ||
		created.CreatedBy == "" || created.CreatedBy != created.ModifiedBy || created.CreateTime.IsZero() {
		t.Fatalf("created %+v", created)
	}
	if raw, _ := json.Marshal(created); bytes.Contains(raw, []byte("hunter2")) || bytes.Contains(raw, []byte(base64.StdEncoding.EncodeToString([]byte("hunter2")))) {
		t.Fatalf("the put's answer carries the value: %s", raw)
	}
	if _, err := cl.SecretPut(ctx, "prod/db/password", pub.SecretPutRequest{Value: []byte("x"), CAS: pub.CAS(0)}); !pub.IsConflict(err) || !strings.Contains(err.Error(), "already exists (version 1)") {
		t.Fatalf("create-only over an existing secret: %v", err)
	}
	got, err := cl.SecretGet(ctx, "prod/db/password", nil)
	if err != nil || *got != *created {
		t.Fatalf("get: %+v, %v; want %+v", got, err, created)
	}
	v, err := cl.SecretValueGet(ctx, "prod/db/password")
	if err != nil || string(v.Value) != "hunter2" || v.Version != 1 || v.Name != "prod/db/password" {
		t.Fatalf("value: %+v, %v", v, err)
	}
	// A new version with CAS; without a description the old one stays.
	upd, err := cl.SecretPut(ctx, "prod/db/password", pub.SecretPutRequest{Value: []byte("correct horse"), CAS: pub.CAS(1)})
	if err != nil || upd.Version != 2 || upd.ID != created.ID || upd.CreateIndex != created.CreateIndex || upd.ModifyIndex <= created.ModifyIndex || upd.Description != "the shop's database" {
		t.Fatalf("update: %+v, %v", upd, err)
	}
	if _, err := cl.SecretPut(ctx, "prod/db/password", pub.SecretPutRequest{Value: []byte("x"), CAS: pub.CAS(1)}); !pub.IsConflict(err) || !strings.Contains(err.Error(), "at version 2, not 1") {
		t.Fatalf("stale CAS: %v", err)
	}
	// Unconditional writes take the next version.
	if s, err := cl.SecretPut(ctx, "prod/db/password", pub.SecretPutRequest{Value: []byte("third")}); err != nil || s.Version != 3 {
		t.Fatalf("unconditional put: %+v, %v", s, err)
	}
	if v, err := cl.SecretValueGet(ctx, "prod/db/password"); err != nil || string(v.Value) != "third" || v.Version != 3 {
		t.Fatalf("value after updates: %+v, %v", v, err)
	}
	// A value of exactly 64 KiB is a value.
	if _, err := cl.SecretPut(ctx, "prod/max", pub.SecretPutRequest{Value: bytes.Repeat([]byte("m"), secrets.MaxValueLen)}); err != nil {
		t.Fatalf("a value of 64 KiB: %v", err)
	}
	if v, err := cl.SecretValueGet(ctx, "prod/max"); err != nil || len(v.Value) != secrets.MaxValueLen {
		t.Fatalf("the 64 KiB value: %d bytes, %v", len(v.Value), err)
	}
	if err := cl.SecretDelete(ctx, "prod/max", nil); err != nil {
		t.Fatal(err)
	}
	// Binary and empty values are values.
	bin := []byte{0, 1, 2, 0xff}
	if _, err := cl.SecretPut(ctx, "prod/tls/key", pub.SecretPutRequest{Value: bin}); err != nil {
		t.Fatal(err)
	}
	if v, err := cl.SecretValueGet(ctx, "prod/tls/key"); err != nil || !bytes.Equal(v.Value, bin) {
		t.Fatalf("binary value: %+v, %v", v, err)
	}
	if _, err := cl.SecretPut(ctx, "staging/empty", pub.SecretPutRequest{}); err != nil {
		t.Fatal(err)
	}

	// Listing: metadata only, by prefix, a page at a time.
	l, err := cl.SecretList(ctx, "prod/", &pub.QueryOptions{Limit: 1})
	if err != nil || len(l.Secrets) != 1 || l.Secrets[0].Name != "prod/db/password" || l.Next == "" {
		t.Fatalf("first page: %+v, %v", l, err)
	}
	l, err = cl.SecretList(ctx, "prod/", &pub.QueryOptions{Limit: 1, Next: l.Next})
	if err != nil || len(l.Secrets) != 1 || l.Secrets[0].Name != "prod/tls/key" || l.Next != "" {
		t.Fatalf("second page: %+v, %v", l, err)
	}
	if l, err := cl.SecretList(ctx, "", nil); err != nil || len(l.Secrets) != 3 {
		t.Fatalf("all: %+v, %v", l, err)
	}

	if err := cl.SecretDelete(ctx, "prod/db/password", pub.CAS(2)); !pub.IsConflict(err) {
		t.Fatalf("delete with a stale CAS: %v", err)
	}
	if err := cl.SecretDelete(ctx, "prod/db/password", pub.CAS(3)); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.SecretGet(ctx, "prod/db/password", nil); !pub.IsNotFound(err) {
		t.Fatalf("get after delete: %v", err)
	}
	if _, err := cl.SecretValueGet(ctx, "prod/db/password"); !pub.IsNotFound(err) {
		t.Fatalf("value after delete: %v", err)
	}
	again, err := cl.SecretPut(ctx, "prod/db/password", pub.SecretPutRequest{Value: []byte("new life")})
	if err != nil || again.Version != 1 || again.ID == created.ID || again.Description != "" {
		t.Fatalf("created again: %+v, %v", again, err)
	}

	for _, tc := range []struct {
		method, path string
		body         any
		status       int
		msg          string
	}{
		{"PUT", "/v1/secrets/big", pub.SecretPutRequest{Value: make([]byte, secrets.MaxValueLen+1)}, http.StatusRequestEntityTooLarge, "at most 65536 bytes"},
		{"PUT", "/v1/secrets/a%20b", pub.SecretPutRequest{Value: []byte("v")}, http.StatusBadRequest, "outside A-Z"},
		{"PUT", "/v1/secrets/d", pub.SecretPutRequest{Value: []byte("v"), Description: str(strings.Repeat("d", 2049))}, http.StatusBadRequest, "at most 2048"},
		{"GET", "/v1/secrets/missing", nil, http.StatusNotFound, "not found"},
		{"GET", "/v1/secrets?prefix=a%20b", nil, http.StatusBadRequest, "outside A-Z"},
		{"DELETE", "/v1/secrets/prod/tls/key?cas=x", nil, http.StatusBadRequest, "whole number"},
		{"DELETE", "/v1/secrets/prod/tls/key?cas=0", nil, http.StatusBadRequest, "create only"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			status, body := call(t, tc.method, c.URL(0)+tc.path, testutil.ManagementToken, tc.body)
			if status != tc.status || !strings.Contains(body, tc.msg) {
				t.Fatalf("status %d body %s; want %d saying %q", status, body, tc.status, tc.msg)
			}
		})
	}
	// pkg/api refuses a name a router would clean into another one, before sending.
	if _, err := cl.SecretPut(ctx, "a/../b", pub.SecretPutRequest{Value: []byte("v")}); err == nil || !strings.Contains(err.Error(), "not a relative path") {
		t.Fatalf("a name with ..: %v", err)
	}
}

// call sends one JSON request and returns the status and the body.
func call(t *testing.T, method, url, token string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// userToken makes user NAME with one customer policy (document doc) attached and returns a
// personal access token of theirs.
func userToken(t *testing.T, c *testutil.Cluster, name, doc string) string {
	t.Helper()
	ctx := context.Background()
	cl := c.Client(0)
	if _, err := cl.UserCreate(ctx, pub.UserCreateRequest{Name: name}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.PolicyCreate(ctx, pub.PolicyPutRequest{Name: name + "-policy", Document: doc}); err != nil {
		t.Fatal(err)
	}
	if err := cl.PolicyAttach(ctx, name+"-policy", pub.PolicyAttachRequest{User: name}); err != nil {
		t.Fatal(err)
	}
	tk, err := cl.UserTokenCreate(ctx, name, pub.UserTokenCreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return tk.SecretID
}

// TestValueNeedsItsOwnPermission: metadata and values are separate permissions. A user allowed
// DescribeSecret and ListSecrets sees names and versions but gets 403 for the value; a client
// (ReadOnlyAccess) token likewise; a user allowed GetSecretValue on prod/* reads prod's values and
// no other. Every read of a value, allowed or denied, is in the audit trail, without the value.
func TestValueNeedsItsOwnPermission(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	admin := c.Client(0)
	for name, value := range map[string]string{"prod/db": "prod-db-plaintext", "staging/db": "staging-db-plaintext"} {
		if _, err := admin.SecretPut(ctx, name, pub.SecretPutRequest{Value: []byte(value)}); err != nil {
			t.Fatal(err)
		}
	}
	describer := userToken(t, c, "ana", `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
	  "Action": ["secretsmanager:DescribeSecret", "secretsmanager:ListSecrets"], "Resource": "*"}]}`)
	prodReader := userToken(t, c, "bo", `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
	  "Action": ["secretsmanager:GetSecretValue"], "Resource": "srn:slipway:secretsmanager:secret/prod/*"}]}`)
	client, err := admin.TokenCreate(ctx, "reader", pub.TokenTypeClient, 0)
	if err != nil {
		t.Fatal(err)
	}
	u := c.URL(0)
	for _, tc := range []struct {
		who, token, path string
		status           int
		msg              string
	}{
		{"describer", describer, "/v1/secrets/prod/db", http.StatusOK, `"version": 1`},
		{"describer", describer, "/v1/secrets", http.StatusOK, "staging/db"},
		{"describer", describer, "/v1/secret-values/prod/db", http.StatusForbidden, "not allowed: secretsmanager:GetSecretValue on srn:slipway:secretsmanager:secret/prod/db"},
		{"client token", client.SecretID, "/v1/secrets/prod/db", http.StatusOK, `"version": 1`},
		{"client token", client.SecretID, "/v1/secret-values/prod/db", http.StatusForbidden, "secretsmanager:GetSecretValue"},
		{"prod reader", prodReader, "/v1/secret-values/prod/db", http.StatusOK, base64.StdEncoding.EncodeToString([]byte("prod-db-plaintext"))},
		{"prod reader", prodReader, "/v1/secret-values/staging/db", http.StatusForbidden, "secret/staging/db"},
		{"prod reader", prodReader, "/v1/secrets/prod/db", http.StatusForbidden, "secretsmanager:DescribeSecret"},
	} {
		status, body := call(t, "GET", u+tc.path, tc.token, nil)
		if status != tc.status || !strings.Contains(body, tc.msg) {
			t.Errorf("%s GET %s: status %d body %s; want %d saying %q", tc.who, tc.path, status, body, tc.status, tc.msg)
		}
		if status != http.StatusOK && strings.Contains(body, "plaintext") {
			t.Errorf("%s GET %s: a refusal shows the value: %s", tc.who, tc.path, body)
		}
	}
	if status, body := call(t, "PUT", u+"/v1/secrets/prod/db", prodReader, pub.SecretPutRequest{Value: []byte("x")}); status != http.StatusForbidden {
		t.Errorf("a reader's put: status %d body %s", status, body)
	}

	// The trail has the allowed read (with its version) and the denied ones, and no value.
	var recs []pub.AuditRecord
	testutil.Eventually(t, 10*time.Second, func() error {
		l, err := admin.AuditList(ctx, pub.AuditFilter{Action: secrets.ActionGetSecretValue}, nil)
		if err != nil {
			return err
		}
		recs = l.Records
		allowed, denied := 0, 0
		for _, r := range recs {
			switch {
			case r.Outcome == "allowed" && r.Principal.Name == "bo" && r.Resource == "srn:slipway:secretsmanager:secret/prod/db" && r.Detail == "version 1":
				allowed++
			case r.Outcome == "denied":
				denied++
			}
		}
		if allowed != 1 || denied < 3 {
			return fmt.Errorf("%d allowed and %d denied reads of values in the trail: %+v", allowed, denied, recs)
		}
		return nil
	})
	raw, _ := json.Marshal(recs)
	if bytes.Contains(raw, []byte("plaintext")) || bytes.Contains(raw, []byte(base64.StdEncoding.EncodeToString([]byte("prod-db-plaintext")))) {
		t.Fatalf("the audit trail holds a value: %s", raw)
	}
}

// TestGoAPIAuthorizesValueByPolicy is the seam the build service will use: Service.Value under a
// build project's role decides by the role's policies, as the API edge would, and records the
// read; without an identity nothing is read.
func TestGoAPIAuthorizesValueByPolicy(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	admin := c.Client(0)
	if _, err := admin.SecretPut(ctx, "web/npm-token", pub.SecretPutRequest{Value: []byte("npm_abcdef")}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.SecretPut(ctx, "shop/stripe-key", pub.SecretPutRequest{Value: []byte("sk_live_123")}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.PolicyCreate(ctx, pub.PolicyPutRequest{Name: "web-build", Document: `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
	  "Action": "secretsmanager:GetSecretValue", "Resource": "srn:slipway:secretsmanager:secret/web/*"}]}`}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RoleCreate(ctx, pub.RoleCreateRequest{Name: "project-web", Trust: []string{"user/nobody"}, Policies: []string{"web-build"}}); err != nil {
		t.Fatal(err)
	}
	svc := c.Server(0).Service("secrets").(*secrets.Module).Service()
	project := secrets.Reader{Identity: &auth.Identity{Token: state.Token{Type: pub.TokenTypeRole, Role: "project-web", AccessorID: "build-1"}}}
	v, err := svc.Value(ctx, "web/npm-token", project)
	if err != nil || string(v.Value) != "npm_abcdef" {
		t.Fatalf("the project's own secret: %+v, %v", v, err)
	}
	if _, err := svc.Value(ctx, "shop/stripe-key", project); fault.CodeOf(err) != fault.Forbidden || !strings.Contains(err.Error(), `role "project-web"`) {
		t.Fatalf("another project's secret: %v", err)
	}
	if _, err := svc.Value(ctx, "web/npm-token", secrets.Reader{}); fault.CodeOf(err) != fault.Forbidden {
		t.Fatalf("no identity: %v", err)
	}
	testutil.Eventually(t, 10*time.Second, func() error {
		l, err := admin.AuditList(ctx, pub.AuditFilter{Principal: "project-web"}, nil)
		if err != nil {
			return err
		}
		if len(l.Records) < 2 {
			return fmt.Errorf("the role's reads in the trail: %+v", l.Records)
		}
		return nil
	})
}

// TestValuesNeverOnDisk runs a three-server cluster: values written through a follower are read
// on another server after the leader is killed; then, after enough writes for Raft snapshots,
// no file of any server's data dir (state, Raft log, Raft snapshots) nor a state snapshot holds
// a value, in clear or in base64, while the secrets' names are there (so the search looked at
// the right bytes).
func TestValuesNeverOnDisk(t *testing.T) {
	c := testutil.NewCluster(t, 3)
	ctx := context.Background()
	leader := c.WaitLeader()
	follower := c.Follower()
	var plain [][]byte
	value := func() []byte {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		v := []byte("PLAINTEXT-" + hex.EncodeToString(b))
		plain = append(plain, v)
		return v
	}
	first := value()
	s, err := c.Client(follower).SecretPut(ctx, "prod/db/password", pub.SecretPutRequest{Value: first})
	if err != nil {
		t.Fatal(err)
	}
	c.Kill(leader)
	next := c.WaitLeader()
	other := next
	for i := 0; i < c.Len(); i++ {
		if i != leader && i != next {
			other = i // the surviving follower: the read goes through the new leader's barrier
		}
	}
	var v *pub.SecretValue
	testutil.Eventually(t, 20*time.Second, func() error {
		var err error
		v, err = c.Client(other).SecretValueGet(ctx, "prod/db/password")
		return err
	})
	if !bytes.Equal(v.Value, first) || v.Version != s.Version {
		t.Fatalf("after the leader change: %+v, written %q version %d", v, first, s.Version)
	}
	if _, err := c.Client(next).SecretPut(ctx, "prod/db/password", pub.SecretPutRequest{Value: value(), CAS: pub.CAS(s.Version)}); err != nil {
		t.Fatalf("a CAS write after the change: %v", err)
	}
	c.Start(leader)
	// Enough writes for every server to take Raft snapshots (testutil.FastRaft: every 256
	// entries), through each server at once.
	var values [3][][]byte
	for i := range 300 {
		values[i%3] = append(values[i%3], value())
	}
	errs := make(chan error, 3)
	for srv := range 3 {
		go func() {
			for i, v := range values[srv] {
				if _, err := c.Client(srv).SecretPut(ctx, fmt.Sprintf("bulk/s%d", (i*3+srv)%30), pub.SecretPutRequest{Value: v}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var snap bytes.Buffer
	if err := c.Client(0).SnapshotSave(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	c.WaitApplied(c.Server(c.WaitLeader()).Node().AppliedIndex())
	found := map[string]bool{}
	check := func(what string, b []byte) {
		for _, p := range plain {
			if bytes.Contains(b, p) || bytes.Contains(b, []byte(base64.StdEncoding.EncodeToString(p))) {
				t.Errorf("%s holds the value %q", what, p)
			}
		}
		if bytes.Contains(b, []byte("bulk/s29")) {
			found[what] = true
		}
	}
	gz, err := gzip.NewReader(&snap) // a gzip'd tar of the state and its metadata
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(gz)
	if err != nil {
		t.Fatal(err)
	}
	check("the state snapshot", unzipped)
	files, snapshots := 0, 0
	for i := 0; i < c.Len(); i++ {
		err := filepath.WalkDir(c.Config(i).DataDir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			if strings.Contains(path, "snapshots") {
				snapshots++
			}
			check(path, b)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if !found["the state snapshot"] || len(found) < 4 || snapshots == 0 {
		t.Fatalf("the search did not see the secrets: names found in %v, %d files, %d of them Raft snapshot files", found, files, snapshots)
	}
	t.Logf("%d values absent from %d files (%d in Raft snapshots) and the state snapshot; names found in %d", len(plain), files, snapshots, len(found))
}

// TestConcurrentPutsTakeEveryVersion: unconditional puts of one secret through every server of a
// cluster at once all succeed, each with its own version (a write sealed for a version another
// took is sealed again), and the value read at the end is the last version's.
func TestConcurrentPutsTakeEveryVersion(t *testing.T) {
	c := testutil.NewCluster(t, 3)
	ctx := context.Background()
	const writers, each = 6, 8
	errs := make(chan error, writers)
	versions := make(chan uint64, writers*each)
	for w := range writers {
		go func() {
			for i := range each {
				s, err := c.Client(w%c.Len()).SecretPut(ctx, "shared", pub.SecretPutRequest{Value: []byte(fmt.Sprintf("writer %d put %d", w, i))})
				if err != nil {
					errs <- err
					return
				}
				versions <- s.Version
			}
			errs <- nil
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(versions)
	seen := map[uint64]bool{}
	for v := range versions {
		if seen[v] {
			t.Fatalf("version %d answered twice", v)
		}
		seen[v] = true
	}
	for v := uint64(1); v <= writers*each; v++ {
		if !seen[v] {
			t.Fatalf("version %d missing from the answers %v", v, seen)
		}
	}
	v, err := c.Client(0).SecretValueGet(ctx, "shared")
	if err != nil || v.Version != writers*each || !strings.HasPrefix(string(v.Value), "writer ") {
		t.Fatalf("the last value: %+v, %v", v, err)
	}
}

// TestRotationReseals: after `keyring rotate` the leader reseals every value under the new data
// key, keeping versions and indexes; every server still reads the same values.
func TestRotationReseals(t *testing.T) {
	c := testutil.NewCluster(t, 3)
	ctx := context.Background()
	cl := c.Client(c.WaitLeader())
	var before []*pub.Secret
	for i := range 5 {
		s, err := cl.SecretPut(ctx, fmt.Sprintf("app/s%d", i), pub.SecretPutRequest{Value: []byte(fmt.Sprintf("value %d", i))})
		if err != nil {
			t.Fatal(err)
		}
		before = append(before, s)
	}
	k, err := cl.KeyringRotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if k.ID == before[0].KeyID {
		t.Fatalf("the rotation kept the key %s", k.ID)
	}
	testutil.Eventually(t, 20*time.Second, func() error {
		l, err := cl.SecretList(ctx, "app/", &pub.QueryOptions{Consistent: true})
		if err != nil {
			return err
		}
		for i, s := range l.Secrets {
			if s.KeyID != k.ID {
				return fmt.Errorf("%s is still under %s", s.Name, s.KeyID)
			}
			if s.Version != before[i].Version || s.ModifyIndex != before[i].ModifyIndex {
				return fmt.Errorf("resealing changed %s: %+v, was %+v", s.Name, s, before[i])
			}
		}
		return nil
	})
	for i := range c.Len() {
		v, err := c.Client(i).SecretValueGet(ctx, "app/s3")
		if err != nil || string(v.Value) != "value 3" || v.Version != 1 {
			t.Fatalf("server %d reads %+v, %v after the reseal", i, v, err)
		}
	}
}
