package deploy

import (
	"bytes"
	"context"
	"strings"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// RevisionLatest names an application's newest revision wherever a revision is taken.
const RevisionLatest = "latest"

// Revision references other than a full ID: a prefix of at least minRevisionPrefix characters,
// matched among at most maxRevisionCandidates revisions before it is called ambiguous.
const (
	minRevisionPrefix     = 4
	maxRevisionCandidates = 10
)

// Resolve returns the revision ref names: its ID, a unique prefix of its ID, or "latest" (app's
// newest revision, which needs app). When app is set, the revision must be app's and a prefix is
// matched among app's revisions only. An ambiguous prefix is refused with the candidates. One
// this server has not heard of yet is looked up again after a consistent read (ctx bounds it).
func (s *Revisions) Resolve(ctx context.Context, app, ref string) (pub.Revision, error) {
	if app != "" {
		if err := state.ValidateName("application", app); err != nil {
			return pub.Revision{}, err
		}
	}
	if err := state.ValidateText("revision", ref, maxRevisionLen); err != nil {
		return pub.Revision{}, err
	}
	if ref == "" {
		return pub.Revision{}, fault.New(fault.Invalid, "no revision given: give its ID, a unique prefix of it, or latest")
	}
	var rev Revision
	resolve := func() error {
		return s.core.State.View(func(tx *state.Tx) error {
			var err error
			rev, err = resolveRevision(tx, app, ref)
			return err
		})
	}
	err := s.core.ReadYourWrites(ctx, resolve)
	if err != nil {
		return pub.Revision{}, err
	}
	return revisionView(rev), nil
}

func resolveRevision(tx *state.Tx, app, ref string) (Revision, error) {
	if ref == RevisionLatest {
		if app == "" {
			return Revision{}, fault.New(fault.Invalid, "latest names an application's newest revision: give the application too (--app)")
		}
		if _, err := getApp(tx, app); err != nil {
			return Revision{}, err
		}
		revs, err := listRevisions(tx, app)
		if err != nil {
			return Revision{}, err
		}
		if len(revs) == 0 {
			return Revision{}, fault.New(fault.NotFound, "application %q has no revisions yet: push one with slipway revision push --app %s PATH", app, app)
		}
		return revs[len(revs)-1], nil
	}
	r, ok, err := state.Get[Revision](tx, bucketRevisions, ref)
	switch {
	case err != nil:
		return r, err
	case ok && (app == "" || r.App == app):
		return r, nil
	case ok:
		return r, fault.New(fault.NotFound, "revision %s is application %q's, not %q's", ref, r.App, app)
	case len(ref) < minRevisionPrefix:
		return r, fault.New(fault.NotFound, "revision %q not found (a prefix needs at least %d characters)", ref, minRevisionPrefix)
	}
	var found []Revision
	c := tx.Bucket(bucketRevisions).Cursor()
	for k, _ := c.Seek([]byte(ref)); k != nil && bytes.HasPrefix(k, []byte(ref)) && len(found) <= maxRevisionCandidates; k, _ = c.Next() {
		r, err := getRevision(tx, string(k))
		if err != nil {
			return r, err
		}
		if app == "" || r.App == app {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 0:
		if app != "" {
			return Revision{}, fault.New(fault.NotFound, "application %q has no revision %q (by ID or prefix): see slipway revision list --app %s", app, ref, app)
		}
		return Revision{}, fault.New(fault.NotFound, "revision %q not found (by ID or prefix)", ref)
	case 1:
		return found[0], nil
	}
	var ids []string
	for i, r := range found {
		if i == maxRevisionCandidates {
			ids = append(ids, "...")
			break
		}
		ids = append(ids, r.ID+" ("+r.App+")")
	}
	return Revision{}, fault.New(fault.Invalid, "revision prefix %q is ambiguous: it matches %s; give more characters", ref, strings.Join(ids, ", "))
}
