package review

import (
	"context"
	"slices"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git"
)

// CreateTemplate creates an approval rule template (t's Name, Description, Approvals, Pool and
// Branches; Repositories are given by Associate). It is checked before it is proposed.
func (s *Service) CreateTemplate(ctx context.Context, actor string, t pub.ApprovalTemplate) (pub.ApprovalTemplate, error) {
	p := TemplatePayload{Name: t.Name, Description: t.Description, TemplateContent: contentOf(t), Actor: actor}
	if len(t.Repositories) > 0 {
		return pub.ApprovalTemplate{}, fault.New(fault.Invalid, "a new template is associated with no repository: create it, then associate it with each (slipway repo approval-template associate %s --repo R)", t.Name)
	}
	if err := validateTemplate(p); err != nil {
		return pub.ApprovalTemplate{}, err
	}
	res, err := command.Propose(ctx, s.m.core.Cluster, cmdTemplateCreate, s.m.core.Now(), p)
	return s.templateAnswer(ctx, res, err)
}

// UpdateTemplate replaces the content and the description of the template t.Name; its
// associations stay. Open pull requests are evaluated against the new content from then on.
func (s *Service) UpdateTemplate(ctx context.Context, actor string, t pub.ApprovalTemplate) (pub.ApprovalTemplate, error) {
	c := contentOf(t)
	return s.updateTemplate(ctx, TemplateUpdatePayload{Name: t.Name, Content: &c, Description: &t.Description, Actor: actor})
}

func (s *Service) updateTemplate(ctx context.Context, u TemplateUpdatePayload) (pub.ApprovalTemplate, error) {
	if err := validateTemplateName(u.Name); err != nil {
		return pub.ApprovalTemplate{}, err
	}
	if u.Content != nil {
		if err := validateContent(u.Name, *u.Content); err != nil {
			return pub.ApprovalTemplate{}, err
		}
	}
	res, err := command.Propose(ctx, s.m.core.Cluster, cmdTemplateUpdate, s.m.core.Now(), u)
	return s.templateAnswer(ctx, res, err)
}

// DeleteTemplate deletes a template and its associations: its rule no longer applies to any
// pull request.
func (s *Service) DeleteTemplate(ctx context.Context, actor, name string) error {
	if err := validateTemplateName(name); err != nil {
		return err
	}
	_, err := command.Propose(ctx, s.m.core.Cluster, cmdTemplateDelete, s.m.core.Now(), TemplateDeletePayload{Name: name, Actor: actor})
	return err
}

// Template returns a template as this server has applied it, with the names of the
// repositories it is associated with.
func (s *Service) Template(ctx context.Context, name string) (pub.ApprovalTemplate, error) {
	if err := validateTemplateName(name); err != nil {
		return pub.ApprovalTemplate{}, err
	}
	var t Template
	if err := s.m.core.State.View(func(tx *state.Tx) error {
		var err error
		t, err = mustTemplate(tx, name)
		return err
	}); err != nil {
		return pub.ApprovalTemplate{}, err
	}
	names, err := s.repoNames(t)
	if err != nil {
		return pub.ApprovalTemplate{}, err
	}
	return templateView(t, names), nil
}

// Templates returns every template (at most MaxTemplates) in name order.
func (s *Service) Templates(ctx context.Context) ([]pub.ApprovalTemplate, error) {
	out, _, err := s.templatesPage(ctx, api.Page{})
	return out, err
}

// templatesPage returns the templates after page.After in name order, at most page.Limit (0:
// all), and the name to continue after ("" at the end).
func (s *Service) templatesPage(ctx context.Context, page api.Page) ([]pub.ApprovalTemplate, string, error) {
	var list []Template
	var next string
	if err := s.m.core.State.View(func(tx *state.Tx) error {
		var err error
		list, next, err = state.List[Template](tx, bucketTemplates, page.After, page.Limit, nil)
		return err
	}); err != nil {
		return nil, "", err
	}
	names, err := s.repoNames(list...)
	if err != nil {
		return nil, "", err
	}
	out := make([]pub.ApprovalTemplate, 0, len(list))
	for _, t := range list {
		out = append(out, templateView(t, names))
	}
	return out, next, nil
}

// Associate associates the template name with the repository repo: from then on the
// template's rule applies to the repository's pull requests into a matching branch, open ones
// included. Associating again changes nothing. The repository is held by its ID: a repository
// deleted and created again under the same name is not associated.
func (s *Service) Associate(ctx context.Context, actor, name, repo string) error {
	if err := validateTemplateName(name); err != nil {
		return err
	}
	if err := s.m.core.Cluster.ConsistentRead(ctx); err != nil {
		return fault.New(fault.Unavailable, "this server cannot read approval rule templates now: %v", err)
	}
	r, err := s.m.git.Repos().Get(ctx, repo)
	if err != nil {
		return err
	}
	var t Template
	if err := s.m.core.State.View(func(tx *state.Tx) error {
		t, err = mustTemplate(tx, name)
		return err
	}); err != nil {
		return err
	}
	var drop []string
	if len(t.Repos) > 0 {
		names, err := s.repoNames(t)
		if err != nil {
			return err
		}
		for _, id := range t.Repos {
			if _, ok := names[id]; !ok {
				drop = append(drop, id)
			}
		}
	}
	_, err = command.Propose(ctx, s.m.core.Cluster, cmdTemplateAssociate, s.m.core.Now(), AssociatePayload{Name: name, RepoID: r.ID, Repo: r.Name, Drop: drop, Actor: actor})
	return err
}

// Disassociate removes the association of the template name with the repository repo; a
// template not associated with it is not found.
func (s *Service) Disassociate(ctx context.Context, actor, name, repo string) error {
	if err := validateTemplateName(name); err != nil {
		return err
	}
	if err := s.m.core.Cluster.ConsistentRead(ctx); err != nil {
		return fault.New(fault.Unavailable, "this server cannot read repositories now: %v", err)
	}
	r, err := s.m.git.Repos().Get(ctx, repo)
	if err != nil {
		return err
	}
	_, err = command.Propose(ctx, s.m.core.Cluster, cmdTemplateDisassociate, s.m.core.Now(), AssociatePayload{Name: name, RepoID: r.ID, Repo: r.Name, Actor: actor})
	return err
}

// RepoTemplates returns the templates associated with the repository repo, in name order,
// whatever their branches.
func (s *Service) RepoTemplates(ctx context.Context, repo string) ([]pub.ApprovalTemplate, error) {
	r, err := s.m.git.Repos().Get(ctx, repo)
	if err != nil {
		return nil, err
	}
	var list []Template
	if err := s.m.core.State.View(func(tx *state.Tx) error {
		list, err = templatesOfRepo(tx, r.ID)
		return err
	}); err != nil {
		return nil, err
	}
	names, err := s.repoNames(list...)
	if err != nil {
		return nil, err
	}
	out := make([]pub.ApprovalTemplate, 0, len(list))
	for _, t := range list {
		out = append(out, templateView(t, names))
	}
	return out, nil
}

// templateRules are the rules of the templates associated with p's repository whose branches
// match p's destination, named after their templates. They are read when p is evaluated, so a
// template associated or changed after p was opened applies to it.
func (m *Module) templateRules(p PR) []pub.PullRequestRuleState {
	var list []Template
	err := m.core.State.View(func(tx *state.Tx) error {
		var err error
		list, err = templatesOfRepo(tx, p.RepoID)
		return err
	})
	if err != nil {
		// Fail closed: a rule that cannot hold, naming why, rather than no rule.
		m.core.Log.Error("pull requests: read the approval rule templates", "pr", p.ID, "err", err)
		return []pub.PullRequestRuleState{{PullRequestRule: pub.PullRequestRule{Name: "approval rule templates (unreadable: " + err.Error() + ")", Approvals: 1, Pool: []string{}}, Origin: pub.RuleOriginTemplate}}
	}
	var out []pub.PullRequestRuleState
	for _, t := range list {
		if t.Matches(p.Destination) {
			out = append(out, pub.PullRequestRuleState{PullRequestRule: pub.PullRequestRule{Name: t.Name, Approvals: t.Approvals, Pool: t.Pool}, Origin: pub.RuleOriginTemplate})
		}
	}
	return out
}

// repoNames maps the IDs of the repositories ts are associated with to their names now
// (git.NameOf, in one read of the state); the IDs of deleted repositories are left out.
func (s *Service) repoNames(ts ...Template) (map[string]string, error) {
	out := map[string]string{}
	err := s.m.core.State.View(func(tx *state.Tx) error {
		for _, t := range ts {
			for _, id := range t.Repos {
				if n, ok := git.NameOf(tx, id); ok {
					out[id] = n
				}
			}
		}
		return nil
	})
	return out, err
}

func contentOf(t pub.ApprovalTemplate) TemplateContent {
	return TemplateContent{Approvals: t.Approvals, Pool: t.Pool, Branches: t.Branches}
}

// templateView is a record as the API answers it: its repositories by name, in name order,
// those deleted since left out.
func templateView(t Template, names map[string]string) pub.ApprovalTemplate {
	v := pub.ApprovalTemplate{Name: t.Name, Description: t.Description, Approvals: t.Approvals, Pool: t.Pool, Branches: t.Branches,
		Repositories: []string{}, CreateTime: t.CreateTime, ModifyTime: t.ModifyTime}
	if v.Pool == nil {
		v.Pool = []string{}
	}
	for _, id := range t.Repos {
		if n, ok := names[id]; ok {
			v.Repositories = append(v.Repositories, n)
		}
	}
	slices.Sort(v.Repositories)
	return v
}

func (s *Service) templateAnswer(ctx context.Context, res command.Result, err error) (pub.ApprovalTemplate, error) {
	if err != nil {
		return pub.ApprovalTemplate{}, err
	}
	t, err := command.Data[Template](res)
	if err != nil {
		return pub.ApprovalTemplate{}, err
	}
	if len(t.Repos) == 0 {
		return templateView(t, nil), nil
	}
	names, err := s.repoNames(t)
	if err != nil {
		return pub.ApprovalTemplate{}, err
	}
	return templateView(t, names), nil
}
