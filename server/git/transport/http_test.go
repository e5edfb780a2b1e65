package transport_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/server/git/gitproto"
	"github.com/slipwayhq/slipway/server/git/transport"
)

// answer is a response's status and headers (its body is read and closed).
type answer struct {
	StatusCode int
	Header     http.Header
}

// request sends a git request with the admin's basic credentials.
func (f *fixture) request(t *testing.T, method, path string, body io.Reader, hdr map[string]string) (answer, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("git", f.secrets["admin"])
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header}, string(data)
}

// lsRefsV2 is a protocol v2 ls-refs request.
func lsRefsV2() []byte {
	var b bytes.Buffer
	w := gitproto.NewWriter(&b)
	_ = w.Line("command=ls-refs")
	_ = w.Delim()
	_ = w.Line("peel")
	_ = w.Flush()
	return b.Bytes()
}

// TestHTTP checks what git clients rely on beyond the client tests: content types and
// no-cache on every answer, the v0 preamble, gzip request bodies, and refusals before git runs
// (a bad Git-Protocol, an unknown repository, an unsupported encoding, a body over the push
// limit), each as text/plain that git shows.
func TestHTTP(t *testing.T) {
	f := newFixture(t, func(c *transport.Config) { c.MaxPushBytes = 4096 })
	src := f.clientRepo()
	if err := writeBig(src); err != nil {
		t.Fatal(err)
	}
	f.git(src, "add", ".")
	f.git(src, "commit", "-q", "-m", "big")

	t.Run("advertisements", func(t *testing.T) {
		resp, body := f.request(t, "GET", "/git/app.git/info/refs?service=git-upload-pack", nil, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-git-upload-pack-advertisement" ||
			!strings.Contains(resp.Header.Get("Cache-Control"), "no-cache") || !strings.HasPrefix(body, "001e# service=git-upload-pack\n0000") {
			t.Errorf("v0 upload-pack advertisement: %d %v\n%q", resp.StatusCode, resp.Header, body)
		}
		resp, body = f.request(t, "GET", "/git/app/info/refs?service=git-upload-pack", nil, map[string]string{"Git-Protocol": "version=2"})
		if resp.StatusCode != 200 || !strings.HasPrefix(body, "000eversion 2\n") {
			t.Errorf("v2 advertisement (and NAME without .git): %d\n%q", resp.StatusCode, body)
		}
		resp, body = f.request(t, "GET", "/git/app.git/info/refs?service=git-receive-pack", nil, map[string]string{"Git-Protocol": "version=2"})
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-git-receive-pack-advertisement" || !strings.HasPrefix(body, "001f# service=git-receive-pack\n0000") {
			t.Errorf("receive-pack advertisement: %d %v\n%q", resp.StatusCode, resp.Header, body)
		}
	})

	t.Run("gzip upload-pack request", func(t *testing.T) {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		_, _ = zw.Write(lsRefsV2())
		_ = zw.Close()
		resp, body := f.request(t, "POST", "/git/app.git/git-upload-pack", &z, map[string]string{
			"Git-Protocol": "version=2", "Content-Encoding": "gzip", "Content-Type": "application/x-git-upload-pack-request"})
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-git-upload-pack-result" || !strings.HasSuffix(body, "0000") {
			t.Errorf("gzip ls-refs: %d %v\n%q", resp.StatusCode, resp.Header, body)
		}
	})

	for _, c := range []struct {
		name, method, path string
		hdr                map[string]string
		body               io.Reader
		status             int
		want               string
	}{
		{"bad Git-Protocol", "GET", "/git/app.git/info/refs?service=git-upload-pack", map[string]string{"Git-Protocol": "version=2;rm -rf"}, nil, 400, "Git-Protocol"},
		{"unknown repository", "GET", "/git/nope.git/info/refs?service=git-upload-pack", nil, nil, 404, "nope"},
		{"dumb protocol", "GET", "/git/app.git/info/refs", nil, nil, 400, "dumb"},
		{"unknown encoding", "POST", "/git/app.git/git-upload-pack", map[string]string{"Content-Encoding": "br"}, strings.NewReader("0000"), 400, "Content-Encoding"},
		{"over the push limit", "POST", "/git/app.git/git-receive-pack", nil, bytes.NewReader(make([]byte, 5000)), 413, "push size limit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := f.request(t, c.method, c.path, c.body, c.hdr)
			if resp.StatusCode != c.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || !strings.Contains(body, c.want) {
				t.Errorf("%d %q %q; want %d, text/plain naming %q", resp.StatusCode, resp.Header.Get("Content-Type"), body, c.status, c.want)
			}
		})
	}

	t.Run("a real push over the limit", func(t *testing.T) {
		out, err := f.try(src, "push", f.url("admin"), "main")
		if err == nil || f.serverRef("refs/heads/main") != "" {
			t.Fatalf("a push over the limit was accepted:\n%s", out)
		}
	})
}

// writeBig adds a file that does not compress, so a push carries more than 4 KiB.
func writeBig(dir string) error {
	data := make([]byte, 64<<10)
	x := uint32(1)
	for i := range data {
		x = x*1664525 + 1013904223
		data[i] = byte(x >> 24)
	}
	return writeFile(dir+"/big.bin", data)
}
