package fleet

import (
	"context"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// HostQuery selects a page of hosts: those with every tag of Tags (key and value equal) and,
// when Status is set, that status (pub.HostOnline or pub.HostOffline), in name order after the
// name After, at most Limit of them (0: all).
type HostQuery struct {
	Tags   map[string]string
	Status string
	After  string
	Limit  int
}

// Check refuses a query that names an unknown status or an invalid tag, saying what is allowed.
func (q HostQuery) Check() error {
	switch q.Status {
	case "", pub.HostOnline, pub.HostOffline:
	default:
		return fault.New(fault.Invalid, "status %s is not a host status: use %s or %s", state.Shorten(q.Status), pub.HostOnline, pub.HostOffline)
	}
	return state.ValidateTags(q.Tags)
}

// Query returns the page of hosts q selects and the name to continue after ("" when no more
// match). ctx is the caller's; a consistent read, if wanted, is the caller's to make first.
func (s *Hosts) Query(ctx context.Context, q HostQuery) (page []pub.Host, next string, err error) {
	if err := q.Check(); err != nil {
		return nil, "", err
	}
	page = []pub.Host{}
	err = s.State.View(func(tx *state.Tx) error {
		var names map[string]string
		for h, err := range tx.HostsByName(q.After) {
			if err != nil {
				return err
			}
			if !hasTags(h.Tags, q.Tags) {
				continue
			}
			if names == nil {
				names = s.names(tx)
			}
			v := s.view(h, names)
			if q.Status != "" && v.Status != q.Status {
				continue
			}
			if q.Limit > 0 && len(page) == q.Limit {
				next = page[len(page)-1].Name
				return nil
			}
			page = append(page, v)
		}
		return nil
	})
	return page, next, err
}

func hasTags(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}
