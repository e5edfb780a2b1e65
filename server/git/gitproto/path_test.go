package gitproto

import (
	"strings"
	"testing"
)

func TestParseHTTPPath(t *testing.T) {
	ok := []struct {
		method, path, query string
		want                Route
	}{
		{"GET", "/git/app.git/info/refs", "service=git-upload-pack", Route{"app", UploadPack, true}},
		{"HEAD", "/git/app/info/refs", "service=git-receive-pack", Route{"app", ReceivePack, true}},
		{"POST", "/git/app.git/git-upload-pack", "", Route{"app", UploadPack, false}},
		{"POST", "/git/My_Repo-1.0/git-receive-pack", "", Route{"My_Repo-1.0", ReceivePack, false}},
		{"POST", "/git/..a.git/git-receive-pack", "", Route{"..a", ReceivePack, false}},
	}
	for _, tt := range ok {
		got, err := ParseHTTPPath(tt.method, tt.path, tt.query)
		if err != nil || got != tt.want {
			t.Errorf("ParseHTTPPath(%s %s?%s) = %+v, %v; want %+v", tt.method, tt.path, tt.query, got, err, tt.want)
		}
	}
	bad := []struct{ method, path, query string }{
		{"GET", "/git/app.git/info/refs", ""},                                 // dumb protocol
		{"GET", "/git/app.git/info/refs", "service=git-upload-archive"},       // other service
		{"GET", "/git/app.git/info/refs", "service=git-upload-pack&x=1"},      // extra parameter
		{"GET", "/git/app.git/info/refs", "x=1&service=git-upload-pack"},      // extra parameter
		{"POST", "/git/app.git/info/refs", "service=git-upload-pack"},         // wrong method
		{"GET", "/git/app.git/git-upload-pack", ""},                           // wrong method
		{"POST", "/git/app.git/git-upload-pack", "service=git-upload-pack"},   // query on a service
		{"GET", "/git/app.git/HEAD", ""},                                      // dumb file
		{"GET", "/git/app.git/objects/info/packs", ""},                        // dumb file
		{"POST", "/git/../etc/git-upload-pack", ""},                           // traversal
		{"POST", "/git/..git/git-upload-pack", ""},                            // ".." after .git
		{"POST", "/git/..%2Fetc/git-upload-pack", ""},                         // encoded slash
		{"POST", "/git/app%2egit/git-upload-pack", ""},                        // encoded dot
		{"POST", "/git//git-upload-pack", ""},                                 // empty name
		{"POST", "/git/a/b/git-upload-pack", ""},                              // nested
		{"POST", "/git/app.git/git-upload-pack/", ""},                         // trailing slash
		{"POST", "/git/app.git.git/git-upload-pack", ""},                      // name ending .git
		{"POST", "/v1/git/app.git/git-upload-pack", ""},                       // wrong prefix
		{"POST", "/git/" + strings.Repeat("a", 101) + "/git-upload-pack", ""}, // too long
		{"POST", "/git/a b/git-upload-pack", ""},                              // space
	}
	for _, tt := range bad {
		if got, err := ParseHTTPPath(tt.method, tt.path, tt.query); err == nil {
			t.Errorf("ParseHTTPPath(%s %s?%s) = %+v, want an error", tt.method, tt.path, tt.query, got)
		}
	}
}

func FuzzParseHTTPPath(f *testing.F) {
	f.Add("GET", "/git/app.git/info/refs", "service=git-upload-pack")
	f.Add("POST", "/git/app/git-receive-pack", "")
	f.Add("POST", "/git/../git-receive-pack", "")
	f.Fuzz(func(t *testing.T, method, path, query string) {
		r, err := ParseHTTPPath(method, path, query)
		if err != nil {
			return
		}
		if ValidateRepoName(r.Repo) != nil {
			t.Fatalf("%q gave an invalid repository name %q", path, r.Repo)
		}
		suffix := "/" + string(r.Service)
		if r.Advertise {
			suffix = "/info/refs"
		}
		if path != PathPrefix+r.Repo+suffix && path != PathPrefix+r.Repo+".git"+suffix {
			t.Fatalf("%q parsed as %+v", path, r)
		}
	})
}
