package review

import "testing"

// TestOwnersLRU: the cache keeps entries up to its cost bound, drops the least recently used
// first, and keeps none costing more than the bound.
func TestOwnersLRU(t *testing.T) {
	var l lru[string, int]
	l.init(10)
	l.put("a", 1, 4)
	l.put("b", 2, 4)
	if _, ok := l.get("a"); !ok { // a is now the most recent
		t.Fatal("a dropped under the bound")
	}
	l.put("c", 3, 4) // 12 > 10: b, the least recent, goes
	if _, ok := l.get("b"); ok {
		t.Error("b kept over the bound")
	}
	if v, ok := l.get("a"); !ok || v != 1 {
		t.Errorf("a: %d, %v", v, ok)
	}
	if v, ok := l.get("c"); !ok || v != 3 {
		t.Errorf("c: %d, %v", v, ok)
	}
	l.put("c", 30, 6) // replaced: 4 + 6
	if v, _ := l.get("c"); v != 30 || l.used != 10 {
		t.Errorf("c replaced: %d, %d used", v, l.used)
	}
	l.put("huge", 4, 11)
	if _, ok := l.get("huge"); ok || l.used != 10 {
		t.Errorf("an entry over the bound kept (%d used)", l.used)
	}
}
