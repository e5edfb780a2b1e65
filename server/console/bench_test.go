package console_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
)

// BenchmarkPages measures the console's main pages on a cluster of 1,000 hosts and 1,000
// deployments (one server, loopback HTTP, a signed-in administrator), each beside the JSON API
// answering the same question with the same token's rights: time per page and bytes per answer.
func BenchmarkPages(b *testing.B) {
	c := testutil.NewCluster(b, 1)
	ctx := context.Background()
	cl := c.Client(0)
	ht, err := cl.HostTokenCreate(ctx, api.HostTokenCreateRequest{})
	if err != nil {
		b.Fatal(err)
	}
	node := c.Server(0).Node()
	for i := range 1000 {
		id := fmt.Sprintf("h-%04d", i)
		sum := sha256.Sum256([]byte(id))
		if _, err := command.Propose(ctx, node, command.HostRegisterCmd, time.Now(), command.HostRegister{
			HostID: id, SecretHash: hex.EncodeToString(sum[:]), Name: id, Tags: map[string]string{"env": "prod", "n": fmt.Sprint(i % 10)},
			Hostname: id, OS: "linux", Arch: "amd64", AgentVersion: "bench", Token: ht.AccessorID,
		}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := cl.AppCreate(ctx, api.AppCreateRequest{Name: "shop"}); err != nil {
		b.Fatal(err)
	}
	bundle := echoBundle(b, "")
	sum := sha256.Sum256(bundle)
	rev, _, err := cl.RevisionPush(ctx, "shop", bytes.NewReader(bundle), int64(len(bundle)), hex.EncodeToString(sum[:]), "")
	if err != nil {
		b.Fatal(err)
	}
	var first string
	for i := range 1000 {
		d, err := cl.DeploymentCreate(ctx, api.DeploymentCreateRequest{App: "shop", Revision: rev.ID, Hosts: []string{fmt.Sprintf("h-%04d", i)}})
		if err != nil {
			b.Fatal(err)
		}
		if first == "" {
			first = d.ID
		}
	}
	mustJSON(b, c, "POST", "/v1/iam/users", `{"name":"ana","password":"`+password+`"}`)
	mustJSON(b, c, "POST", "/v1/iam/policies/AdministratorAccess/attach", `{"user":"ana"}`)
	br := newBrowser(b)
	br.signIn(c.URL(0), "ana")
	tok, err := cl.Login(ctx, api.LoginRequest{User: "ana", Password: password})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		page string   // the console's page
		json []string // the API requests that answer the same question
	}{
		{"overview", "/ui/", []string{"/v1/status/servers", "/v1/hosts?limit=1000", "/v1/deployments?status=in_progress&limit=20", "/v1/deployments?status=failed&limit=5"}},
		{"hosts", "/ui/hosts", []string{"/v1/hosts?limit=100"}},
		{"host", "/ui/hosts/h-0500", []string{"/v1/hosts/h-0500", "/v1/deployments?host=h-0500&order=newest&limit=20"}},
		{"deployments", "/ui/deployments", []string{"/v1/deployments?order=newest&limit=100"}},
		{"deployment", "/ui/deployments/" + first, []string{"/v1/deployments/" + first, "/v1/deployments/" + first + "/logs"}},
	} {
		b.Run("page="+tc.name+"/console", func(b *testing.B) {
			var n int
			for b.Loop() {
				resp, body := br.do("GET", c.URL(0)+tc.page, nil)
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("%s: %d", tc.page, resp.StatusCode)
				}
				n = len(body)
			}
			b.ReportMetric(float64(n), "bytes/page")
		})
		b.Run("page="+tc.name+"/json", func(b *testing.B) {
			var n int
			for b.Loop() {
				n = 0
				for _, p := range tc.json {
					req, _ := http.NewRequest("GET", c.URL(0)+p, nil)
					req.Header.Set("Authorization", "Bearer "+tok.SecretID)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					body, _ := io.ReadAll(resp.Body)
					_ = resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Fatalf("%s: %d %s", p, resp.StatusCode, body)
					}
					n += len(body)
				}
			}
			b.ReportMetric(float64(n), "bytes/page")
		})
	}
}
