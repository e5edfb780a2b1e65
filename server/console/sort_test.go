package console

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

type sortRow struct {
	Name string
	N    int
}

var sortRowColumns = map[string]func(a, b sortRow) int{
	"name": func(a, b sortRow) int { return strings.Compare(a.Name, b.Name) },
	"n":    func(a, b sortRow) int { return a.N - b.N },
}

func names(rows []sortRow) string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Name)
	}
	return strings.Join(out, ",")
}

// TestSortTableFollowsTheQuery: ?sort=KEY sorts ascending, ?sort=-KEY descending, rows equal in
// the column keep their order, and an unknown column falls back to the table's natural order.
func TestSortTableFollowsTheQuery(t *testing.T) {
	for _, tc := range []struct{ query, want, key string }{
		{"", "a,b,c,d", "name"},
		{"sort=-name", "d,c,b,a", "name"},
		{"sort=n", "b,d,c,a", "n"}, // b and d are equal: kept in the service's order
		{"sort=-n", "a,c,b,d", "n"},
		{"sort=nope", "a,b,c,d", "name"},
		{"sort=-", "a,b,c,d", "name"},
	} {
		rows := []sortRow{{"c", 2}, {"a", 3}, {"b", 1}, {"d", 1}}
		r := httptest.NewRequest("GET", "/ui/things?"+tc.query, nil)
		s := sortTable(r, "sort", "name", rows, sortRowColumns)
		if got := names(rows); got != tc.want || s.Key != tc.key {
			t.Errorf("?%s: rows %s sorted by %s; want %s by %s", tc.query, got, s.Key, tc.want, tc.key)
		}
	}
	// A natural order that is descending (newest first).
	rows := []sortRow{{"a", 1}, {"b", 3}, {"c", 2}}
	s := sortTable(httptest.NewRequest("GET", "/ui/things", nil), "sort", "-n", rows, sortRowColumns)
	if names(rows) != "b,c,a" || !s.Desc {
		t.Errorf("default -n: %s (desc %v); want b,c,a descending", names(rows), s.Desc)
	}
}

// TestSortColumnLinks: a header's link sorts by its column, reverses the order when the table is
// already sorted by it ascending, keeps the filters and the other table's order, and drops the
// page cursors so the view starts at the first page.
func TestSortColumnLinks(t *testing.T) {
	r := httptest.NewRequest("GET", "/ui/things?status=online&tag=env%3Dprod&next=web-3&rsort=size&sort=name", nil)
	s := sortTable(r, "sort", "name", []sortRow{}, sortRowColumns)
	link := func(c sortCol) url.Values {
		u, err := url.Parse(c.Href)
		if err != nil || u.Path != "/ui/things" {
			t.Fatalf("link %q: %v", c.Href, err)
		}
		return u.Query()
	}
	name := s.Col("name", "Name")
	if !name.Active || name.Desc || link(name).Get("sort") != "-name" {
		t.Errorf("name column of a table sorted by name: %+v; want active, ascending, linking to -name", name)
	}
	n := s.Col("n", "N")
	q := link(n)
	if n.Active || q.Get("sort") != "n" || q.Get("status") != "online" || q.Get("tag") != "env=prod" || q.Get("rsort") != "size" || q.Has("next") {
		t.Errorf("n column: %+v (query %v); want inactive, sort=n with the filters and rsort kept, next dropped", n, q)
	}
	s = sortTable(httptest.NewRequest("GET", "/ui/things?sort=-name", nil), "sort", "name", []sortRow{}, sortRowColumns)
	if c := s.Col("name", "Name"); !c.Desc || link(c).Get("sort") != "name" {
		t.Errorf("name column of a table sorted by -name: %+v; want descending, linking to name", c)
	}
	if got := s.Keep(url.Values{"next": {"x"}}).Encode(); got != "next=x&sort=-name" {
		t.Errorf("pager query %s; want the order kept", got)
	}
	if got := sortOf(httptest.NewRequest("GET", "/ui/things", nil), "sort", "name").Keep(url.Values{}).Encode(); got != "" {
		t.Errorf("pager query %q with no order given; want none added", got)
	}
}
