package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// KVEntry is one key of the cluster's key/value settings store. Value is the stored bytes (base64
// in JSON); CreateIndex is the index of the write that created the key and ModifyIndex that of
// its last write: pass ModifyIndex as the cas of the next write to make it conditional.
type KVEntry struct {
	Key         string `json:"key"`
	Value       []byte `json:"value"`
	CreateIndex uint64 `json:"create_index"`
	ModifyIndex uint64 `json:"modify_index"`
}

// KVPutRequest is the body of PUT /v1/kv/{key}. CAS, when set, makes the write conditional: 0
// writes only a key that does not exist yet, N only a key whose modify index is still N.
type KVPutRequest struct {
	Value []byte  `json:"value"`
	CAS   *uint64 `json:"cas,omitempty"`
}

// KVList is the answer of GET /v1/kv: entries in key order, values included. A page ends at
// ?limit= entries or at about 1 MiB of values, whichever comes first; Next continues it.
type KVList struct {
	Entries []KVEntry `json:"entries"`
	Next    string    `json:"next,omitempty"`
}

// CAS returns index as a write's check-and-set precondition (KVPut, KVDelete).
func CAS(index uint64) *uint64 { return &index }

// kvPath is the path of a key: each segment escaped on its own, so the slashes stay slashes. A
// key that is not a clean relative path (a leading slash, an empty, "." or ".." segment) is
// refused here: HTTP routers clean such paths and redirect, which would name another key.
func kvPath(key string) (string, error) {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		if s == "" || s == "." || s == ".." {
			return "", &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: fmt.Sprintf(
				"key %q is not a relative path of non-empty segments without . or ..: use one such as builds/cache/max-size", key)}
		}
		segs[i] = url.PathEscape(s)
	}
	return "/v1/kv/" + strings.Join(segs, "/"), nil
}

// KVGet returns a key's entry; a missing key is a not_found error (IsNotFound).
func (c *Client) KVGet(ctx context.Context, key string, q *QueryOptions) (*KVEntry, error) {
	var e KVEntry
	p, err := kvPath(key)
	if err == nil {
		err = c.do(ctx, request{method: http.MethodGet, path: p, query: q.values(), out: &e})
	}
	return &e, err
}

// KVList lists a page of the entries whose key starts with prefix ("" for all), in key order.
func (c *Client) KVList(ctx context.Context, prefix string, q *QueryOptions) (*KVList, error) {
	v := q.values()
	if prefix != "" {
		v.Set("prefix", prefix)
	}
	var l KVList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/kv", query: v, out: &l})
	return &l, err
}

// KVPut writes a key's value and answers with the entry as written. cas (see CAS) makes the write
// conditional: CAS(0) creates only, CAS(n) replaces only while the key's modify index is n; a
// failed precondition is a conflict (IsConflict) and changes nothing. nil writes unconditionally.
func (c *Client) KVPut(ctx context.Context, key string, value []byte, cas *uint64) (*KVEntry, error) {
	var e KVEntry
	p, err := kvPath(key)
	if err == nil {
		err = c.do(ctx, request{method: http.MethodPut, path: p, in: KVPutRequest{Value: value, CAS: cas}, out: &e})
	}
	return &e, err
}

// KVDelete deletes a key; a missing one is a not_found error. A non-nil cas deletes only while
// the key's modify index is *cas (a conflict otherwise).
func (c *Client) KVDelete(ctx context.Context, key string, cas *uint64) error {
	var q url.Values
	if cas != nil {
		q = url.Values{"cas": {strconv.FormatUint(*cas, 10)}}
	}
	p, err := kvPath(key)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: p, query: q})
}
