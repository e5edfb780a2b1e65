package state

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"time"
)

var (
	bucketRequests       = []byte("requests")         // request id -> RequestRecord
	bucketRequestsByTime = []byte("requests_by_time") // time(8) | request id -> nil
)

// RequestTTL is how long the outcome of a command with a request ID is remembered, so that a
// retry of the same request (by a client, or by a follower after a leader change) gets the first
// outcome instead of being applied twice.
const RequestTTL = time.Hour

// RequestRecord is the remembered outcome of one request.
type RequestRecord struct {
	Time    int64           `json:"time"`
	Index   uint64          `json:"index"`
	Code    string          `json:"code,omitempty"`
	Message string          `json:"message,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// GetRequest returns the remembered outcome of a request ID.
func (t *Tx) GetRequest(id string) (RequestRecord, bool, error) {
	var r RequestRecord
	ok, err := t.get(bucketRequests, []byte(id), &r)
	return r, ok, err
}

// PutRequest remembers the outcome of a request ID.
func (t *Tx) PutRequest(id string, r RequestRecord) error {
	if err := t.put(bucketRequests, []byte(id), r); err != nil {
		return err
	}
	return t.tx.Bucket(bucketRequestsByTime).Put(timeKey(r.Time, id), nil)
}

// ExpireRequests forgets up to max request outcomes recorded before cutoff (unix nanos). It is
// called from apply with the command's own time, so every node forgets the same ones.
func (t *Tx) ExpireRequests(cutoff int64, max int) error {
	byTime := t.tx.Bucket(bucketRequestsByTime)
	c := byTime.Cursor()
	var dead [][]byte
	for k, _ := c.First(); k != nil && len(dead) < max; k, _ = c.Next() {
		if len(k) < 8 || int64(binary.BigEndian.Uint64(k[:8])) >= cutoff {
			break
		}
		dead = append(dead, bytes.Clone(k))
	}
	for _, k := range dead {
		if err := byTime.Delete(k); err != nil {
			return err
		}
		if err := t.tx.Bucket(bucketRequests).Delete(k[8:]); err != nil {
			return err
		}
	}
	return nil
}

func timeKey(ts int64, id string) []byte {
	k := make([]byte, 8, 8+len(id))
	binary.BigEndian.PutUint64(k, uint64(ts))
	return append(k, id...)
}
