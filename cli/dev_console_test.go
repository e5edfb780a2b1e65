package cli

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/slipwayhq/slipway/pkg/api"
)

// TestDevPrintsTheConsoleAndItsUser: `slipway dev` prints the console's address and the
// password of its admin user, who can sign in with it and is an administrator.
func TestDevPrintsTheConsoleAndItsUser(t *testing.T) {
	dev := startDev(t)
	m := regexp.MustCompile(`Console: (http://\S+/ui/)  \(user admin, password (\S+)\)`).FindStringSubmatch(dev.out.String())
	if m == nil {
		t.Fatalf("no console line in:\n%s", dev.out.String())
	}
	if m[1] != "http://"+dev.addr+"/ui/" {
		t.Fatalf("console at %s; want http://%s/ui/", m[1], dev.addr)
	}
	cl, err := api.NewClient(api.Config{Address: "http://" + dev.addr})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := cl.Login(t.Context(), api.LoginRequest{User: "admin", Password: m[2]})
	if err != nil {
		t.Fatalf("sign in as admin with the printed password: %v", err)
	}
	resp, err := http.Get("http://" + dev.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.Request.URL.Path != "/ui/login" {
		t.Fatalf("GET / ended at %s; want the console's sign-in page", resp.Request.URL)
	}
	admin, err := api.NewClient(api.Config{Address: "http://" + dev.addr, Token: tk.SecretID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AppCreate(t.Context(), api.AppCreateRequest{Name: "from-console-user"}); err != nil {
		t.Fatalf("the dev admin may not create an app: %v", err)
	}
}
