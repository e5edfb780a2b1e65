package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// BenchmarkBuildPages measures the build pages on a cluster of 100 projects and 2,000 builds
// (one server, loopback HTTP, a signed-in administrator), each beside the JSON API answering the
// same question: the projects list (each project's last build read too), the builds list, the
// status filter reading past 1,900 builds of another status, and a build's page.
func BenchmarkBuildPages(b *testing.B) {
	c := testutil.NewCluster(b, 1)
	ctx := context.Background()
	cl := c.Client(0)
	for i := range 100 {
		if _, err := cl.ProjectCreate(ctx, api.ProjectCreateRequest{Name: fmt.Sprintf("p-%03d", i),
			Source: api.ProjectSource{Type: api.SourceNone, BuildspecInline: consoleBuildspec}}); err != nil {
			b.Fatal(err)
		}
	}
	var queued string
	for i := range 2000 {
		bd, err := cl.BuildStart(ctx, api.BuildStartRequest{Project: fmt.Sprintf("p-%03d", i%100)})
		if err != nil {
			b.Fatal(err)
		}
		if i < 100 {
			queued = bd.ID // the oldest builds stay queued: the filter reads past every other
			continue
		}
		if _, err := cl.BuildStop(ctx, bd.ID); err != nil {
			b.Fatal(err)
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
	var lastBuilds []string
	for i := range 100 {
		lastBuilds = append(lastBuilds, fmt.Sprintf("/v1/build-projects/p-%03d/builds?limit=1", i))
	}
	for _, tc := range []struct {
		name   string
		page   string
		json   []string
		follow bool // the JSON side follows the list's next cursor to its end
	}{
		{"projects", "/ui/build-projects", append([]string{"/v1/build-projects?limit=100"}, lastBuilds...), false},
		{"builds", "/ui/builds", []string{"/v1/builds?limit=100"}, false},
		{"builds-queued", "/ui/builds?status=QUEUED", []string{"/v1/builds?limit=1000"}, true},
		{"build", "/ui/builds/" + queued, []string{"/v1/builds/" + queued}, false},
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
				for i := 0; i < len(tc.json); i++ {
					p := tc.json[i]
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
					var l api.BuildList
					if tc.follow && json.Unmarshal(body, &l) == nil && l.Next != "" {
						tc.json = append(tc.json[:i+1:i+1], tc.json[0]+"&next="+l.Next)
					}
				}
			}
			b.ReportMetric(float64(n), "bytes/page")
		})
	}
}
