package api

import "testing"

func TestKVPath(t *testing.T) {
	for key, want := range map[string]string{
		"a":                     "/v1/kv/a",
		"builds/cache/max-size": "/v1/kv/builds/cache/max-size",
		"a b/c?d":               "/v1/kv/a%20b/c%3Fd", // the server refuses these characters with its message
	} {
		if got, err := kvPath(key); err != nil || got != want {
			t.Errorf("kvPath(%q) = %q, %v; want %q", key, got, err, want)
		}
	}
	for _, key := range []string{"", "/a", "a/", "a//b", "a/./b", "a/../b", ".."} {
		if _, err := kvPath(key); ErrorCode(err) != CodeBadRequest {
			t.Errorf("kvPath(%q): %v; want a bad_request error before any request", key, err)
		}
	}
}
