package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "abc", 0}, {"BeforeInstal", "BeforeInstall", 1}, {"kitten", "sitting", 3}, {"", "abc", 3}} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestClosest(t *testing.T) {
	got, d := Closest("beforeinstal", []string{"AfterInstall", "BeforeInstall", "Install"})
	if got != "BeforeInstall" || d != 1 {
		t.Fatalf("Closest = %q, %d", got, d)
	}
	if got, d := Closest("x", nil); got != "" || d != -1 {
		t.Fatalf("no candidates: %q, %d", got, d)
	}
}
