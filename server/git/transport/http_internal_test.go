package transport

import (
	"testing"
	"time"
)

// TestPushTimingAttrs: the parts of the time after the push's body add up to it, and a step
// that did not happen (no pack to store) is nil and adds to the next one.
func TestPushTimingAttrs(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	attrs := func(pt pushTiming) map[string]any {
		m := map[string]any{}
		a := pt.attrs()
		for i := 0; i < len(a); i += 2 {
			m[a[i].(string)] = a[i+1]
		}
		return m
	}
	got := attrs(pushTiming{bodyEnd: t0, storeStart: at(100), storeEnd: at(300), proposeStart: at(310), proposeEnd: at(340), answered: at(350)})
	want := map[string]any{"after_body_ms": int64(350), "index_ms": int64(100), "store_pack_ms": int64(200), "migrate_ms": int64(10), "propose_ms": int64(30), "report_ms": int64(10)}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v; want %v (all: %v)", k, got[k], v, got)
		}
	}
	got = attrs(pushTiming{bodyEnd: t0, proposeStart: at(40), proposeEnd: at(60), answered: at(70)})
	want = map[string]any{"after_body_ms": int64(70), "index_ms": nil, "store_pack_ms": nil, "migrate_ms": int64(40), "propose_ms": int64(20), "report_ms": int64(10)}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("without a pack: %s = %v; want %v (all: %v)", k, got[k], v, got)
		}
	}
}
