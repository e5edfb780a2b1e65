package testutil

import (
	"context"
	"fmt"
	"sort"

	"github.com/slipwayhq/slipway/pkg/api"
)

// ListApps returns every application cl's server knows, across pages, by name; a name listed
// twice is an error.
func ListApps(ctx context.Context, cl *api.Client, consistent bool) (map[string]api.App, error) {
	out := map[string]api.App{}
	next := ""
	for {
		l, err := cl.AppList(ctx, &api.QueryOptions{Consistent: consistent, Limit: 1000, Next: next})
		if err != nil {
			return nil, err
		}
		for _, a := range l.Apps {
			if _, dup := out[a.Name]; dup {
				return nil, fmt.Errorf("app %q listed twice", a.Name)
			}
			out[a.Name] = a
		}
		if l.Next == "" {
			return out, nil
		}
		next = l.Next
	}
}

// SetDiff describes how got's keys differ from want's (at most ten of each named), or returns ""
// when they are the same.
func SetDiff[A, B any](want map[string]A, got map[string]B) string {
	var missing, extra []string
	for k := range want {
		if _, ok := got[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, k)
		}
	}
	if len(missing) == 0 && len(extra) == 0 {
		return ""
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return fmt.Sprintf("%d missing %v, %d extra %v", len(missing), clip(missing), len(extra), clip(extra))
}

func clip(s []string) []string {
	if len(s) > 10 {
		return append(s[:10:10], "...")
	}
	return s
}

// SameApps reports how got differs from want: other names (SetDiff), or the same name at
// another create index (a different create, or one applied twice). nil when they agree.
func SameApps(want, got map[string]api.App) error {
	if d := SetDiff(want, got); d != "" {
		return fmt.Errorf("the applications differ: %s", d)
	}
	for name, a := range want {
		if got[name].CreateIndex != a.CreateIndex {
			return fmt.Errorf("%s has create index %d, want %d", name, got[name].CreateIndex, a.CreateIndex)
		}
	}
	return nil
}
