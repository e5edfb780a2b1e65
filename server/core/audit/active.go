package audit

import (
	"cmp"
	"iter"
	"slices"
	"time"

	"github.com/slipwayhq/slipway/server/core/fault"
)

// Month is a calendar month in UTC.
type Month struct {
	Year  int
	Month time.Month
}

// ParseMonth reads a month written YYYY-MM, e.g. "2026-11", as `--month` takes it.
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return Month{}, fault.New(fault.Invalid, "month %q is not a month: write it as YYYY-MM, e.g. 2026-11", clip(s))
	}
	return Month{Year: t.Year(), Month: t.Month()}, nil
}

// String writes the month as YYYY-MM.
func (m Month) String() string { return m.Start().Format("2006-01") }

// Start is the first instant of the month, in UTC.
func (m Month) Start() time.Time { return time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, time.UTC) }

// End is the first instant after the month, in UTC.
func (m Month) End() time.Time { return m.Start().AddDate(0, 1, 0) }

// Contains reports whether t falls in the month (UTC).
func (m Month) Contains(t time.Time) bool { return !t.Before(m.Start()) && t.Before(m.End()) }

// ActiveUser is one principal's authenticated requests in a month.
type ActiveUser struct {
	// Principal is who acted; Name is the one its latest record in the month gives.
	Principal Principal `json:"principal"`
	// Requests counts its records in the month, whatever their outcome.
	Requests uint64 `json:"requests"`
	// First and Last are the times of its first and last records in the month, in sequence
	// order.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
}

// CountsAsUser reports whether requests by principals of kind k make them active users: an
// authenticated principal acting through credentials given to a person or a program (users,
// tokens, roles and kinds added later), not a host acting as itself (an agent) and not an
// anonymous request (one that did not authenticate).
func (k Kind) CountsAsUser() bool { return k != "" && k != KindAnonymous && k != KindHost }

// ActiveUsers lists the distinct principals with at least one authenticated request in month m:
// every record whose Time is in m and whose principal CountsAsUser, whatever the outcome (a
// request denied by a policy was still made by an authenticated principal). Principals are the
// same when Kind and ID are (Name when ID is empty). The list is sorted by kind, name, then ID.
// Memory grows with the number of distinct principals in the month, not with the records; err
// is the first error records yields.
func ActiveUsers(records iter.Seq2[Record, error], m Month) ([]ActiveUser, error) {
	type key struct {
		kind   Kind
		byName bool
		id     string
	}
	start, end := m.Start(), m.End()
	index := map[key]int{}
	var out []ActiveUser
	for r, err := range records {
		if err != nil {
			return nil, err
		}
		p := r.Principal
		if !p.Kind.CountsAsUser() || r.Time.Before(start) || !r.Time.Before(end) {
			continue
		}
		k := key{kind: p.Kind, id: p.ID}
		if p.ID == "" {
			k = key{kind: p.Kind, byName: true, id: p.Name}
		}
		i, seen := index[k]
		if !seen {
			i = len(out)
			index[k] = i
			out = append(out, ActiveUser{Principal: p, First: r.Time})
		}
		u := &out[i]
		u.Principal.Name = p.Name
		u.Requests++
		u.Last = r.Time
	}
	slices.SortFunc(out, func(a, b ActiveUser) int {
		return cmp.Or(
			cmp.Compare(a.Principal.Kind, b.Principal.Kind),
			cmp.Compare(a.Principal.Name, b.Principal.Name),
			cmp.Compare(a.Principal.ID, b.Principal.ID),
		)
	})
	return out, nil
}

// clip keeps at most 40 bytes of a value for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return boundString(s, 40)
	}
	return s
}
