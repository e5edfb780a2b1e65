package git

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git/gitexec"
)

// Branch protection (issue 19): rules per repository and branch pattern, enforced by
// Backend.Push on every ref move before its repo.push is proposed (see DESIGN.md).

// The commands of branch protection and commit statuses (git's range, 1310-1329).
var (
	cmdProtect   = command.Define[ProtectPayload](1310, "repo.protect", 1)
	cmdUnprotect = command.Define[UnprotectPayload](1311, "repo.unprotect", 1)
	cmdStatus    = command.Define[StatusPayload](1312, "repo.status", 1)
)

// The buckets of branch protection and commit statuses. Names and record JSON are in snapshots:
// never change them.
var (
	bucketProtect    = []byte("git/protect")       // repo ID | 0 | pattern → Protection
	bucketStatuses   = []byte("git/statuses")      // repo ID | 0 | commit | seq → Status
	bucketStatusAge  = []byte("git/statuses-age")  // repo ID | 0 | seq → commit
	bucketStatusMeta = []byte("git/statuses-meta") // repo ID → statusMeta
)

// Bounds of branch protection, each refused with a message that names it.
const (
	MaxProtections      = 50  // rules per repository
	MaxPatternLen       = 255 // bytes of a branch pattern
	MaxPushPrincipals   = 50  // principals of one rule
	MaxPrincipalLen     = 128 // bytes of one principal (a name or glob)
	MaxRequiredStatuses = 20  // required contexts of one rule
)

// Protection is one branch protection rule of a repository: the branches whose name matches
// Pattern (path.Match: `*` matches within one path element, so `release/*` matches
// release/1.0 and not release/1/2) are protected as its fields say.
type Protection struct {
	Pattern string `json:"pattern"`
	// NoForcePush refuses a move whose old commit is not an ancestor of the new one.
	NoForcePush bool `json:"no_force_push,omitempty"`
	// NoDelete refuses deleting the branch.
	NoDelete bool `json:"no_delete,omitempty"`
	// RequirePR lets the branch move only through a pull-request merge (PushPayload.ViaPullRequest).
	RequirePR bool `json:"require_pull_request,omitempty"`
	// PushPrincipals, when not empty, are who may move the branch: user names, group names
	// or globs of them (user:NAME and group:NAME say which; a token or role is KIND:NAME).
	PushPrincipals []string `json:"push_principals,omitempty"`
	// RequiredStatuses are commit status contexts whose latest state on the new head must be
	// success.
	RequiredStatuses []string  `json:"required_statuses,omitempty"`
	CreateIndex      uint64    `json:"create_index"`
	ModifyIndex      uint64    `json:"modify_index"`
	ModifyTime       time.Time `json:"modify_time"`
}

// ProtectPayload creates or replaces the rule of Rule.Pattern on the repository named Name.
type ProtectPayload struct {
	Name string     `json:"name"`
	Rule Protection `json:"rule"`
}

// UnprotectPayload removes the rule of Pattern from the repository named Name.
type UnprotectPayload struct {
	Name    string `json:"name"`
	Pattern string `json:"pattern"`
}

func protectKey(id, pattern string) []byte { return subKey(id, []byte(pattern)) }

// validateProtection checks a rule's pattern, principals and contexts (also in apply).
func validateProtection(r Protection) error {
	if err := validatePattern(r.Pattern); err != nil {
		return err
	}
	if !r.NoForcePush && !r.NoDelete && !r.RequirePR && len(r.PushPrincipals) == 0 && len(r.RequiredStatuses) == 0 {
		return fault.New(fault.Invalid, "the rule for %s protects nothing: give at least one of no-force-push, no-delete, require-pr, a push principal or a required status", r.Pattern)
	}
	if len(r.PushPrincipals) > MaxPushPrincipals {
		return fault.New(fault.Invalid, "%d push principals are over the limit of %d per rule: use a group", len(r.PushPrincipals), MaxPushPrincipals)
	}
	for _, p := range r.PushPrincipals {
		if p == "" || len(p) > MaxPrincipalLen || !utf8.ValidString(p) || strings.ContainsAny(p, " \t\r\n\x00,") {
			return fault.New(fault.Invalid, "push principal %q must be 1-%d characters without spaces or commas: a user or group name, or a glob of them", state.Shorten(p), MaxPrincipalLen)
		}
		if _, err := path.Match(p, ""); err != nil {
			return fault.New(fault.Invalid, "push principal %q is not a valid glob: %v", state.Shorten(p), err)
		}
	}
	if len(r.RequiredStatuses) > MaxRequiredStatuses {
		return fault.New(fault.Invalid, "%d required statuses are over the limit of %d per rule", len(r.RequiredStatuses), MaxRequiredStatuses)
	}
	for _, c := range r.RequiredStatuses {
		if err := validateContext(c); err != nil {
			return err
		}
	}
	return nil
}

func validatePattern(p string) error {
	if p == "" || len(p) > MaxPatternLen || !utf8.ValidString(p) || strings.ContainsAny(p, " \t\r\n\x00~^:\\") || strings.HasPrefix(p, "refs/") {
		return fault.New(fault.Invalid, "branch pattern %q must be 1-%d characters of a branch name (without refs/heads/), with * ? [] as globs: e.g. main or release/*", state.Shorten(p), MaxPatternLen)
	}
	if _, err := path.Match(p, ""); err != nil {
		return fault.New(fault.Invalid, "branch pattern %q is not a valid glob: %v", state.Shorten(p), err)
	}
	return nil
}

func applyProtect(tx *state.Tx, index uint64, c *command.Command, p ProtectPayload) (any, error) {
	r, err := mustNamed(tx, p.Name)
	if err != nil {
		return nil, err
	}
	if err := validateProtection(p.Rule); err != nil {
		return nil, err
	}
	rules, err := protections(tx, r.ID)
	if err != nil {
		return nil, err
	}
	rule := p.Rule
	rule.CreateIndex = index
	if i := slices.IndexFunc(rules, func(x Protection) bool { return x.Pattern == rule.Pattern }); i >= 0 {
		rule.CreateIndex = rules[i].CreateIndex
	} else if len(rules) >= MaxProtections {
		return nil, fault.New(fault.Conflict, "repository %s already has its maximum of %d protection rules: remove one, or widen a pattern", r.Name, MaxProtections)
	}
	rule.ModifyIndex, rule.ModifyTime = index, c.Time
	return rule, state.Put(tx, bucketProtect, string(protectKey(r.ID, rule.Pattern)), rule)
}

func applyUnprotect(tx *state.Tx, _ uint64, _ *command.Command, p UnprotectPayload) (any, error) {
	r, err := mustNamed(tx, p.Name)
	if err != nil {
		return nil, err
	}
	k := protectKey(r.ID, p.Pattern)
	if tx.Bucket(bucketProtect).Get(k) == nil {
		return nil, fault.New(fault.NotFound, "repository %s has no protection rule for %s", r.Name, state.Shorten(p.Pattern))
	}
	return nil, tx.Bucket(bucketProtect).Delete(k)
}

// protections returns a repository's rules in pattern order.
func protections(tx *state.Tx, id string) ([]Protection, error) {
	var out []Protection
	prefix := subKey(id, nil)
	c := tx.Bucket(bucketProtect).Cursor()
	for k, v := c.Seek(prefix); k != nil && len(k) >= len(prefix) && string(k[:len(prefix)]) == string(prefix); k, v = c.Next() {
		var r Protection
		if err := jsonUnmarshal(v, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// matching returns the rules that protect ref ("" rules for a ref that is not a branch).
func matching(rules []Protection, ref string) (branch string, out []Protection) {
	branch, ok := strings.CutPrefix(ref, "refs/heads/")
	if !ok {
		return "", nil
	}
	for _, r := range rules {
		if ok, _ := path.Match(r.Pattern, branch); ok {
			out = append(out, r)
		}
	}
	return branch, out
}

// deleteProtectionState removes a deleted repository's rules and statuses.
func deleteProtectionState(tx *state.Tx, id string) error {
	for _, b := range [][]byte{bucketProtect, bucketStatuses, bucketStatusAge} {
		if err := deleteAll(tx, b, id, nil); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketStatusMeta).Delete([]byte(id))
}

// refusedInApply is why apply refuses an update: the proposer's refusal (PushPayload.Refused),
// or a rule of the state as apply sees it that needs no git (deletion, require-pr), so a rule
// added between the proposer's check and the apply still holds. "" lets it through.
func refusedInApply(tx *state.Tx, id string, p PushPayload, u PushUpdate) string {
	if why, ok := p.Refused[u.Ref]; ok {
		return why
	}
	if _, ok := strings.CutPrefix(u.Ref, "refs/heads/"); !ok {
		return ""
	}
	rules, err := protections(tx, id)
	if err != nil || len(rules) == 0 {
		return ""
	}
	branch, rs := matching(rules, u.Ref)
	for _, r := range rs {
		if why := stateRefusal(r, u, p.ViaPullRequest); why != "" {
			return protectedReason(branch, why)
		}
	}
	return ""
}

// stateRefusal checks what a rule says of an update without git or other services: deletion
// and require-pr.
func stateRefusal(r Protection, u PushUpdate, viaPR bool) string {
	switch {
	case r.NoDelete && u.New == zeroID && u.Old != zeroID:
		return "deleting it is not allowed"
	case r.RequirePR && !viaPR:
		return "changes must go through a pull request (slipway pr create)"
	}
	return ""
}

func protectedReason(branch, why string) string {
	return fmt.Sprintf("protected branch %s: %s", branch, why)
}

// checkProtection decides, before a push is proposed, which of its updates branch protection
// refuses: ref → reason in git's words ("protected branch main: force pushes are not
// allowed"). It reads the rules and statuses from this server's state (the push's caller made
// the read barrier: Backend.Repo) and runs git in the repository's copy for the ancestry of
// a move (the objects are there by then, or in p.ObjectDir). caller is who pushes.
func (b *Backend) checkProtection(ctx context.Context, p Push, caller *command.Caller) (map[string]string, error) {
	var rules []Protection
	err := b.m.core.State.View(func(tx *state.Tx) error {
		var err error
		rules, err = protections(tx, p.Repo.ID)
		return err
	})
	if err != nil || len(rules) == 0 {
		return nil, err
	}
	var refused map[string]string
	for _, u := range p.Updates {
		branch, rs := matching(rules, u.Ref)
		for _, r := range rs {
			why, err := b.refusal(ctx, p, r, PushUpdate(u), caller)
			if err != nil {
				return nil, err
			}
			if why != "" {
				if refused == nil {
					refused = map[string]string{}
				}
				refused[u.Ref] = protectedReason(branch, why)
				break
			}
		}
	}
	return refused, nil
}

// refusal is why rule r refuses update u, "" when it lets it through.
func (b *Backend) refusal(ctx context.Context, p Push, r Protection, u PushUpdate, caller *command.Caller) (string, error) {
	if why := stateRefusal(r, u, p.ViaPullRequest); why != "" {
		return why, nil
	}
	if len(r.PushPrincipals) > 0 && !b.m.allowedPrincipal(r.PushPrincipals, caller) {
		who := "an unknown caller"
		if caller != nil {
			who = caller.Kind + " " + caller.Name
		}
		return fmt.Sprintf("only %s may push to it, not %s", strings.Join(r.PushPrincipals, ", "), who), nil
	}
	if u.New == zeroID {
		return "", nil
	}
	if r.NoForcePush && u.Old != zeroID {
		if why := b.forceRefusal(ctx, p, u.Old, u.New); why != "" {
			return why, nil
		}
	}
	if len(r.RequiredStatuses) > 0 {
		var latest map[string]Status
		err := b.m.core.State.View(func(tx *state.Tx) error {
			var err error
			latest, err = latestStatuses(tx, p.Repo.ID, u.New)
			return err
		})
		if err != nil {
			return "", err
		}
		for _, c := range r.RequiredStatuses {
			s, ok := latest[c]
			switch {
			case !ok:
				return fmt.Sprintf("required status %s is not set on %s: it must be success (slipway repo status set)", c, u.New), nil
			case s.State != StateSuccess:
				return fmt.Sprintf("required status %s is %s on %s: it must be success", c, s.State, u.New), nil
			}
		}
	}
	return "", nil
}

// forceRefusal is why a move from old to new is refused as a force push: "" when old is an
// ancestor of new (`git merge-base --is-ancestor` in the copy, with p.ObjectDir as the object
// directory and the copy's as its alternate when set), else the reason; a git that cannot tell
// (an object missing) refuses too, saying so.
func (b *Backend) forceRefusal(ctx context.Context, p Push, old, new string) string {
	ok, err := b.isAncestor(ctx, p, old, new)
	switch {
	case err != nil:
		return "cannot tell whether this is a force push (" + err.Error() + "): fetch and push again"
	case !ok:
		return "force pushes are not allowed"
	}
	return ""
}

func (b *Backend) isAncestor(ctx context.Context, p Push, old, new string) (bool, error) {
	if b.m.git == nil {
		return false, fmt.Errorf("git is not usable on this server")
	}
	cmd := gitexec.Command{Args: []string{"merge-base", "--is-ancestor", old, new}, GitDir: p.Repo.Dir}
	if p.ObjectDir != "" {
		cmd.Env = []string{"GIT_OBJECT_DIRECTORY=" + p.ObjectDir, "GIT_ALTERNATE_OBJECT_DIRECTORIES=" + p.Repo.Dir + "/objects"}
	}
	err := b.m.git.Run(ctx, cmd)
	var ge *gitexec.Error
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ge) && ge.ExitCode() == 1:
		return false, nil
	}
	return false, err
}

// allowedPrincipal reports whether caller matches one of the principals: a user by their name
// (or user:NAME) and their groups' names (or group:NAME); any other principal as KIND:NAME.
// Each principal may be a glob (path.Match).
func (m *Module) allowedPrincipal(principals []string, caller *command.Caller) bool {
	if caller == nil {
		return false
	}
	var names []string
	if caller.Kind == "user" {
		names = append(names, caller.Name, "user:"+caller.Name)
		if m.Groups != nil {
			for _, g := range m.Groups(caller.Name) {
				names = append(names, g, "group:"+g)
			}
		}
	} else {
		names = append(names, caller.Kind+":"+caller.Name)
	}
	for _, p := range principals {
		for _, n := range names {
			if ok, _ := path.Match(p, n); ok {
				return true
			}
		}
	}
	return false
}
