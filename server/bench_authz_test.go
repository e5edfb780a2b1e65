package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server"
	srvapi "github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/config"
	"github.com/slipwayhq/slipway/server/core/policy"
)

// allowAll grants every caller one allow-all statement without reading any state: the API
// with authorization as good as off (one Evaluate of one statement is all that remains).
type allowAll struct{ p *policy.Policy }

func (a allowAll) GrantsFor(id *auth.Identity) srvapi.Grants {
	return srvapi.Grants{Principal: srvapi.TokenPrincipal(id.Token), Policies: []*policy.Policy{a.p}}
}

// tenByTwenty is a user's ten customer policies of twenty statements each, the statement that
// allows kv:PutKey being the last of the last policy (the evaluator walks all of them).
func tenByTwenty(i int) string {
	var st []string
	for j := 0; j < 20; j++ {
		action, resource := fmt.Sprintf("codedeploy:Get%dThing%d", i, j), fmt.Sprintf("srn:slipway:codedeploy:app/app-%d-%d/*", i, j)
		if i == 9 && j == 19 {
			action, resource = "kv:PutKey", "srn:slipway:kv:key/bench-*"
		}
		st = append(st, fmt.Sprintf(`{"Sid":"S%d","Effect":"Allow","Action":[%q,"codedeploy:List*"],"Resource":[%q],"Condition":{"Bool":{"slipway:SecureTransport":"false"}}}`, j, action, resource))
	}
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(st, ",") + `]}`
}

// BenchmarkAPIWriteAuthorization measures API write throughput (kv puts over HTTP, 16 writers,
// one server, production Raft timings) with the identity service's authorization — a
// management token (AdministratorAccess) and a user token whose grants are ten policies of
// twenty statements — next to the same API with authorization as good as off.
func BenchmarkAPIWriteAuthorization(b *testing.B) {
	for _, mode := range []string{"off", "management-token", "user-10x20"} {
		b.Run("auth="+mode, func(b *testing.B) {
			if mode == "off" {
				doc := &policy.Document{Version: policy.VersionSlipway, Statement: []policy.Statement{{Effect: policy.EffectAllow, Action: []string{"*"}, Resource: []string{"*"}}}}
				p, err := policy.Compile("AllowAll", doc)
				if err != nil {
					b.Fatal(err)
				}
				defer server.SetPoliciesOverride(allowAll{p})()
			}
			c := testutil.NewCluster(b, 1, testutil.Options{Tweak: func(_ int, cfg *config.Config) { cfg.Raft = config.Raft{} }})
			cl := c.Client(0)
			if mode == "user-10x20" {
				u := c.URL(0)
				mustCallB(b, http.StatusCreated, "POST", u+"/v1/iam/users", testutil.ManagementToken, api.UserCreateRequest{Name: "bench"})
				for i := 0; i < 10; i++ {
					name := fmt.Sprintf("p%d", i)
					mustCallB(b, http.StatusCreated, "POST", u+"/v1/iam/policies", testutil.ManagementToken, api.PolicyPutRequest{Name: name, Document: tenByTwenty(i)})
					mustCallB(b, http.StatusOK, "POST", u+"/v1/iam/policies/"+name+"/attach", testutil.ManagementToken, api.PolicyAttachRequest{User: "bench"})
				}
				var tk api.Token
				if err := json.Unmarshal([]byte(mustCallB(b, http.StatusCreated, "POST", u+"/v1/iam/users/bench/tokens", testutil.ManagementToken, api.UserTokenCreateRequest{})), &tk); err != nil {
					b.Fatal(err)
				}
				cl = c.ClientWithToken(0, tk.SecretID)
			}
			ctx := context.Background()
			var seq atomic.Int64
			benchWriters(b, 16, "puts", func() error {
				_, err := cl.KVPut(ctx, fmt.Sprintf("bench-%d", seq.Add(1)), []byte("v"), nil)
				return err
			})
		})
	}
}

func mustCallB(b *testing.B, want int, method, url, token string, body any) string {
	b.Helper()
	status, out := rawCallTB(b, method, url, token, body)
	if status != want {
		b.Fatalf("%s %s: status %d body %s; want %d", method, url, status, out, want)
	}
	return out
}
