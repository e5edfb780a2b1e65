package console

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Sorting, the console's one way: a table's order is in the page's query, so a sorted view is a
// link that can be shared and works without JavaScript. ?sort=KEY sorts by a column ascending,
// ?sort=-KEY descending; a page with two tables names the second one's parameter otherwise
// (?rsort= for an application's revisions). The handler sorts the rows it shows: on a paged list
// that is the page (the pages' cursors follow the service's own order), and a column header's
// link starts again from the first page.

// tableSort is one table's order, read from the request by sortOf.
type tableSort struct {
	Param string // the query parameter ("sort")
	Key   string // the column sorted by
	Desc  bool
	query url.Values // the request's, for the headers' links
	path  string
}

// sortOf reads the order of a table from r's query parameter param. keys are the table's
// sortable columns; def is its natural order ("name", or "-created" for newest first), used when
// the query names no column or one the table does not have (an order is a preference, not an
// error).
func sortOf(r *http.Request, param, def string, keys ...string) tableSort {
	s := tableSort{Param: param, query: r.URL.Query(), path: r.URL.Path}
	v := s.query.Get(param)
	key, desc := strings.CutPrefix(v, "-")
	if v == "" || !slices.Contains(keys, key) {
		key, desc = strings.CutPrefix(def, "-")
	}
	s.Key, s.Desc = key, desc
	return s
}

// sortCol is a column header as the "th" component draws it.
type sortCol struct {
	Label, Href string
	Active      bool // the table is sorted by this column
	Desc        bool
}

// Col is the header of the column key: a link that sorts by it ascending, or reverses the order
// when the table is already sorted by it. The link keeps the page's other parameters (its
// filters) but its cursors, so the sorted view starts at the first page.
func (s tableSort) Col(key, label string) sortCol {
	q := url.Values{}
	for k, v := range s.query {
		if k != "next" && k != "before" && k != "after" {
			q[k] = v
		}
	}
	active := s.Key == key
	v := key
	if active && !s.Desc {
		v = "-" + key
	}
	q.Set(s.Param, v)
	return sortCol{Label: label, Href: s.path + "?" + q.Encode(), Active: active, Desc: active && s.Desc}
}

// Given is the order the query asked for ("" when none), for a filter form's hidden field.
func (s tableSort) Given() string { return s.query.Get(s.Param) }

// Keep returns the order as query values to carry into a pager's link (empty when the query
// named none).
func (s tableSort) Keep(q url.Values) url.Values {
	if v := s.query.Get(s.Param); v != "" {
		q.Set(s.Param, v)
	}
	return q
}

// sortTable sorts rows in place by the order r's query parameter param asks for, with the
// comparison by gives for each sortable column, and returns the order for the table's headers.
// def is the natural order ("name", or "-created" for newest first), used when the query names
// no column or one by lacks. The sort is stable: rows equal in the column keep the service's
// order.
func sortTable[T any](r *http.Request, param, def string, rows []T, by map[string]func(a, b T) int) tableSort {
	s := sortOf(r, param, def, slices.Collect(maps.Keys(by))...)
	if cmp, ok := by[s.Key]; ok {
		slices.SortStableFunc(rows, func(a, b T) int {
			if s.Desc {
				return cmp(b, a)
			}
			return cmp(a, b)
		})
	}
	return s
}
