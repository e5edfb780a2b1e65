package review

import (
	"path"
	"slices"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Approval rule templates (CodeCommit's): a rule kept once for the cluster and associated with
// repositories, which applies to every pull request of an associated repository whose
// destination branch matches one of its patterns. The commands are 1412-1419 of the service's
// range; their numbers, names, versions and payload JSON are part of the Raft log format, the
// buckets and the record's JSON part of snapshots: never change them.
var (
	cmdTemplateCreate       = command.Define[TemplatePayload](1412, "pr.template_create", 1)
	cmdTemplateUpdate       = command.Define[TemplateUpdatePayload](1413, "pr.template_update", 1)
	cmdTemplateDelete       = command.Define[TemplateDeletePayload](1414, "pr.template_delete", 1)
	cmdTemplateAssociate    = command.Define[AssociatePayload](1415, "pr.template_associate", 1)
	cmdTemplateDisassociate = command.Define[AssociatePayload](1416, "pr.template_disassociate", 1)
)

var (
	bucketTemplates     = []byte("review/templates")      // template name → Template
	bucketTemplateRepos = []byte("review/template_repos") // repository ID "/" template name → "" (the associations by repository)
)

// Bounds of templates, refused at apply with a message naming them. The approvals are
// CodeCommit's (1-25).
const (
	MaxTemplates            = 1_000 // templates in the cluster
	MaxTemplateApprovals    = 25    // approvals one template needs
	MaxTemplatePool         = 100   // entries of a template's pool
	MaxTemplateBranches     = 50    // branch patterns of a template
	MaxTemplateBranch       = 256   // bytes of one branch pattern
	MaxTemplateAssociations = 1_000 // repositories one template is associated with
	maxRepoID               = 64    // bytes of a repository ID (the git service's are 32 hex digits)
)

// Template is an approval rule template's record. Repos are the IDs of the repositories it is
// associated with, sorted; a repository deleted since stays until the next association
// (AssociatePayload.Drop) and is not shown.
type Template struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Approvals   int       `json:"approvals"`
	Pool        []string  `json:"pool"`
	Branches    []string  `json:"branches,omitempty"`
	Repos       []string  `json:"repos,omitempty"`
	ModifiedBy  string    `json:"modified_by,omitempty"`
	CreateIndex uint64    `json:"create_index"`
	ModifyIndex uint64    `json:"modify_index"`
	CreateTime  time.Time `json:"create_time"`
	ModifyTime  time.Time `json:"modify_time"`
}

// Matches says whether the template applies to a pull request into the branch dest: it has no
// patterns, or one matches the branch name (path.Match: '*' does not cross a '/').
func (t Template) Matches(dest string) bool {
	if len(t.Branches) == 0 {
		return true
	}
	for _, b := range t.Branches {
		if ok, _ := path.Match(b, dest); ok {
			return true
		}
	}
	return false
}

// TemplateContent is what a template asks: Approvals approvals of a pull request's current
// revision from Pool (user names, group:NAME, or globs over user names), for pull requests into
// a branch that matches one of Branches (none: every branch).
type TemplateContent struct {
	Approvals int      `json:"approvals"`
	Pool      []string `json:"pool"`
	Branches  []string `json:"branches,omitempty"`
}

// TemplatePayload creates the template Name.
type TemplatePayload struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	TemplateContent
	Actor string `json:"actor"`
}

// TemplateUpdatePayload replaces a template's content and/or its description (nil: kept).
type TemplateUpdatePayload struct {
	Name        string           `json:"name"`
	Content     *TemplateContent `json:"content,omitempty"`
	Description *string          `json:"description,omitempty"`
	Actor       string           `json:"actor"`
}

// TemplateDeletePayload deletes a template with its associations.
type TemplateDeletePayload struct {
	Name  string `json:"name"`
	Actor string `json:"actor"`
}

// AssociatePayload associates the template Name with the repository RepoID (named Repo when
// proposed), or disassociates it. Drop are associations of repositories the proposer found
// deleted: an associate removes them first, so they do not count against the bound.
type AssociatePayload struct {
	Name   string   `json:"name"`
	RepoID string   `json:"repo_id"`
	Repo   string   `json:"repo"`
	Drop   []string `json:"drop,omitempty"`
	Actor  string   `json:"actor"`
}

func getTemplate(tx *state.Tx, name string) (Template, bool, error) {
	return state.Get[Template](tx, bucketTemplates, name)
}

func mustTemplate(tx *state.Tx, name string) (Template, error) {
	t, ok, err := getTemplate(tx, name)
	if err != nil {
		return t, err
	}
	if !ok {
		return t, fault.New(fault.NotFound, "approval rule template %s not found: 'slipway repo approval-template list' shows them", state.Shorten(name))
	}
	return t, nil
}

func putTemplate(tx *state.Tx, t Template) error { return state.Put(tx, bucketTemplates, t.Name, t) }

func assocKey(repoID, name string) []byte { return []byte(repoID + "/" + name) }

// templatesOfRepo returns the templates associated with the repository repoID, in name order.
func templatesOfRepo(tx *state.Tx, repoID string) ([]Template, error) {
	prefix := []byte(repoID + "/")
	var out []Template
	c := tx.Bucket(bucketTemplateRepos).Cursor()
	for k, _ := c.Seek(prefix); k != nil && strings.HasPrefix(string(k), string(prefix)); k, _ = c.Next() {
		t, ok, err := getTemplate(tx, string(k[len(prefix):]))
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, t)
		}
	}
	return out, nil
}

// validateTemplateName checks a template's name: 1-100 of A-Z a-z 0-9 . _ - (it is in paths
// and resource names).
func validateTemplateName(name string) error {
	return state.ValidateName("approval rule template", name)
}

// validateContent checks a template's content against its bounds.
func validateContent(name string, c TemplateContent) error {
	if c.Approvals < 1 || c.Approvals > MaxTemplateApprovals {
		return fault.New(fault.Invalid, "approval rule template %s needs 1-%d approvals, not %d", name, MaxTemplateApprovals, c.Approvals)
	}
	if len(c.Pool) == 0 || len(c.Pool) > MaxTemplatePool {
		return fault.New(fault.Invalid, "approval rule template %s's pool names 1-%d users, groups (group:NAME) or globs, not %d", name, MaxTemplatePool, len(c.Pool))
	}
	for _, e := range c.Pool {
		if err := validatePoolEntry(name, e); err != nil {
			return err
		}
	}
	if len(c.Branches) > MaxTemplateBranches {
		return fault.New(fault.Invalid, "approval rule template %s has %d branch patterns; the limit is %d", name, len(c.Branches), MaxTemplateBranches)
	}
	for _, b := range c.Branches {
		if err := validateBranchPattern(name, b); err != nil {
			return err
		}
	}
	return nil
}

// validatePoolEntry checks one pool entry: a user name, group:NAME, or a glob over user names.
func validatePoolEntry(name, e string) error {
	bad := e == "" || len(e) > MaxPoolEntry || state.ValidateText("pool entry", e, MaxPoolEntry) != nil || strings.ContainsRune(e, ' ')
	if g, ok := strings.CutPrefix(e, "group:"); ok {
		bad = bad || g == "" || strings.Contains(g, ":")
	} else {
		bad = bad || strings.Contains(e, ":")
	}
	if _, err := path.Match(e, ""); bad || err != nil {
		return fault.New(fault.Invalid, "pool entry %s of approval rule template %s is not a user name, group:NAME or a glob over user names (dev-*)", state.Shorten(e), name)
	}
	return nil
}

// validateBranchPattern checks a destination branch pattern: a glob over branch names as git
// branch shows them.
func validateBranchPattern(name, b string) error {
	_, err := path.Match(b, "")
	switch {
	case b == "" || len(b) > MaxTemplateBranch || state.ValidateText("branch pattern", b, MaxTemplateBranch) != nil || strings.ContainsRune(b, ' '):
		return fault.New(fault.Invalid, "branch pattern %s of approval rule template %s is not a glob over branch names of 1-%d bytes (main, release/*)", state.Shorten(b), name, MaxTemplateBranch)
	case strings.HasPrefix(b, "refs/"):
		return fault.New(fault.Invalid, "branch pattern %s of approval rule template %s: name branches as git branch shows them (main, not refs/heads/main)", state.Shorten(b), name)
	case err != nil:
		return fault.New(fault.Invalid, "branch pattern %s of approval rule template %s is not a valid glob: %v", state.Shorten(b), name, err)
	}
	return nil
}

func validateTemplate(p TemplatePayload) error {
	if err := validateTemplateName(p.Name); err != nil {
		return err
	}
	if err := state.ValidateDescription("approval rule template", p.Description); err != nil {
		return err
	}
	return validateContent(p.Name, p.TemplateContent)
}

// applyTemplateCreate creates a template; a name in use is a conflict.
func applyTemplateCreate(tx *state.Tx, index uint64, c *command.Command, p TemplatePayload) (any, error) {
	if err := validateTemplate(p); err != nil {
		return nil, err
	}
	_, ok, err := getTemplate(tx, p.Name)
	if err != nil {
		return nil, err
	}
	if ok {
		return nil, fault.New(fault.Conflict, "approval rule template %s already exists: change it with 'slipway repo approval-template update'", p.Name)
	}
	if n := tx.Bucket(bucketTemplates).Stats().KeyN; n >= MaxTemplates {
		return nil, fault.New(fault.Conflict, "the cluster already holds its maximum of %d approval rule templates: delete one first", MaxTemplates)
	}
	t := Template{Name: p.Name, Description: p.Description, Approvals: p.Approvals, Pool: p.Pool, Branches: p.Branches, ModifiedBy: p.Actor,
		CreateIndex: index, ModifyIndex: index, CreateTime: c.Time, ModifyTime: c.Time}
	return t, putTemplate(tx, t)
}

// applyTemplateUpdate replaces a template's content and/or description; the associations stay.
func applyTemplateUpdate(tx *state.Tx, index uint64, c *command.Command, u TemplateUpdatePayload) (any, error) {
	t, err := mustTemplate(tx, u.Name)
	if err != nil {
		return nil, err
	}
	if u.Content == nil && u.Description == nil {
		return nil, fault.New(fault.Invalid, "the update of approval rule template %s changes nothing: give its content or its description", u.Name)
	}
	if u.Content != nil {
		if err := validateContent(t.Name, *u.Content); err != nil {
			return nil, err
		}
		t.Approvals, t.Pool, t.Branches = u.Content.Approvals, u.Content.Pool, u.Content.Branches
	}
	if u.Description != nil {
		if err := state.ValidateDescription("approval rule template", *u.Description); err != nil {
			return nil, err
		}
		t.Description = *u.Description
	}
	t.ModifiedBy, t.ModifyIndex, t.ModifyTime = u.Actor, index, c.Time
	return t, putTemplate(tx, t)
}

// applyTemplateDelete deletes a template and its associations.
func applyTemplateDelete(tx *state.Tx, _ uint64, _ *command.Command, d TemplateDeletePayload) (any, error) {
	t, err := mustTemplate(tx, d.Name)
	if err != nil {
		return nil, err
	}
	for _, id := range t.Repos {
		if err := tx.Bucket(bucketTemplateRepos).Delete(assocKey(id, t.Name)); err != nil {
			return nil, err
		}
	}
	return t, state.Delete(tx, bucketTemplates, t.Name)
}

// applyTemplateAssociate associates a template with a repository (again: nothing changes),
// after removing the associations of deleted repositories the proposer found (Drop).
func applyTemplateAssociate(tx *state.Tx, index uint64, c *command.Command, a AssociatePayload) (any, error) {
	t, err := mustTemplate(tx, a.Name)
	if err != nil {
		return nil, err
	}
	if err := validateAssociation(a); err != nil {
		return nil, err
	}
	if len(a.Drop) > MaxTemplateAssociations {
		return nil, fault.New(fault.Invalid, "an association drops at most %d deleted repositories", MaxTemplateAssociations)
	}
	changed := false
	for _, id := range a.Drop {
		if i, ok := slices.BinarySearch(t.Repos, id); ok && id != a.RepoID {
			t.Repos = slices.Delete(t.Repos, i, i+1)
			if err := tx.Bucket(bucketTemplateRepos).Delete(assocKey(id, t.Name)); err != nil {
				return nil, err
			}
			changed = true
		}
	}
	if i, ok := slices.BinarySearch(t.Repos, a.RepoID); !ok {
		if len(t.Repos) >= MaxTemplateAssociations {
			return nil, fault.New(fault.Conflict, "approval rule template %s is already associated with its maximum of %d repositories: disassociate some first", t.Name, MaxTemplateAssociations)
		}
		t.Repos = slices.Insert(t.Repos, i, a.RepoID)
		if err := tx.Bucket(bucketTemplateRepos).Put(assocKey(a.RepoID, t.Name), nil); err != nil {
			return nil, err
		}
		changed = true
	}
	if !changed {
		return t, nil
	}
	t.ModifiedBy, t.ModifyIndex, t.ModifyTime = a.Actor, index, c.Time
	return t, putTemplate(tx, t)
}

// applyTemplateDisassociate removes a template's association with a repository.
func applyTemplateDisassociate(tx *state.Tx, index uint64, c *command.Command, a AssociatePayload) (any, error) {
	t, err := mustTemplate(tx, a.Name)
	if err != nil {
		return nil, err
	}
	if err := validateAssociation(a); err != nil {
		return nil, err
	}
	i, ok := slices.BinarySearch(t.Repos, a.RepoID)
	if !ok {
		return nil, fault.New(fault.NotFound, "approval rule template %s is not associated with repository %s", t.Name, a.Repo)
	}
	t.Repos = slices.Delete(t.Repos, i, i+1)
	if err := tx.Bucket(bucketTemplateRepos).Delete(assocKey(a.RepoID, t.Name)); err != nil {
		return nil, err
	}
	t.ModifiedBy, t.ModifyIndex, t.ModifyTime = a.Actor, index, c.Time
	return t, putTemplate(tx, t)
}

func validateAssociation(a AssociatePayload) error {
	if a.RepoID == "" || len(a.RepoID) > maxRepoID || strings.ContainsAny(a.RepoID, "/\x00") || a.Repo == "" {
		return fault.New(fault.Invalid, "an association names its repository by ID and name")
	}
	return nil
}
