package review_test

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// TestApprovalTemplates runs templates through the API on a one-server cluster: bad templates
// refused with what to fix, create, get, list, associate (by the repository, whose pull
// requests into a matching branch then carry the template's rule, open ones included), the
// author still cannot approve, an approval satisfies it, an update applies at once, a deleted
// repository's association is not shown nor carried over to a repository created again under
// its name, a deleted template's rule is gone, and a read-only user reads but cannot change.
func TestApprovalTemplates(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	admin := c.Client(0)
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codecommit:*","Resource":"*"}]}`
	if _, err := admin.PolicyCreate(ctx, pub.PolicyPutRequest{Name: "code", Document: doc}); err != nil {
		t.Fatal(err)
	}
	alice, bob := user(t, c, 0, "alice"), user(t, c, 0, "bob")
	if _, err := admin.IAMGroupCreate(ctx, pub.IAMGroupCreateRequest{Name: "reviewers"}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} { // alice too: her own approval must still not count
		if err := admin.IAMGroupAddUser(ctx, "reviewers", u); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"app", "gone"} {
		if _, err := admin.RepoCreate(ctx, pub.RepositoryCreateRequest{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := admin.RepoPutFile(ctx, "app", pub.FilePutRequest{Branch: "main", Path: "x", Content: "x\n", Message: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"f", "g"} {
		if _, err := admin.RepoPutFile(ctx, "app", pub.FilePutRequest{Branch: b, Path: b, Content: "y\n", Parent: m.Commit, Message: b}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := admin.RepoPutFile(ctx, "app", pub.FilePutRequest{Branch: "dev", Path: "d", Content: "d\n", Parent: m.Commit, Message: "dev"}); err != nil {
		t.Fatal(err)
	}
	pr, err := alice.PullRequestCreate(ctx, pub.PullRequestCreateRequest{Repository: "app", Source: "f", Destination: "main", Title: "f"})
	if err != nil {
		t.Fatal(err)
	}
	toDev, err := alice.PullRequestCreate(ctx, pub.PullRequestCreateRequest{Repository: "app", Source: "g", Destination: "dev", Title: "g"})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		t   pub.ApprovalTemplate
		has string
	}{
		{pub.ApprovalTemplate{Name: "a b", Approvals: 1, Pool: []string{"bob"}}, "is invalid: use 1-100 characters"},
		{pub.ApprovalTemplate{Name: "t", Approvals: 26, Pool: []string{"bob"}}, "needs 1-25 approvals, not 26"},
		{pub.ApprovalTemplate{Name: "t", Approvals: 1}, "pool names 1-100"},
		{pub.ApprovalTemplate{Name: "t", Approvals: 1, Pool: []string{"bob"}, Branches: []string{"refs/heads/main"}}, "not refs/heads/main"},
	} {
		_, err := admin.ApprovalTemplateCreate(ctx, tc.t)
		wantErr(t, fmt.Sprintf("create %+v", tc.t), err, pub.CodeBadRequest, tc.has)
	}
	tm, err := admin.ApprovalTemplateCreate(ctx, pub.ApprovalTemplate{Name: "reviewers-required", Description: "one reviewer on main", Approvals: 1, Pool: []string{"group:reviewers"}, Branches: []string{"main", "release/*"}})
	if err != nil || tm.Name != "reviewers-required" || tm.Approvals != 1 || len(tm.Repositories) != 0 || tm.CreateTime.IsZero() {
		t.Fatalf("create: %+v, %v", tm, err)
	}
	_, err = admin.ApprovalTemplateCreate(ctx, pub.ApprovalTemplate{Name: "reviewers-required", Approvals: 1, Pool: []string{"bob"}})
	wantErr(t, "a name in use", err, pub.CodeConflict, "already exists")
	if _, err := admin.ApprovalTemplateCreate(ctx, pub.ApprovalTemplate{Name: "everywhere", Approvals: 1, Pool: []string{"carol"}}); err != nil {
		t.Fatal(err)
	}

	// Not associated yet: the open pull request has no rules.
	if e, err := admin.PullRequestEvaluate(ctx, pr.ID, nil); err != nil || !e.Approved || len(e.Rules) != 0 {
		t.Fatalf("evaluate before the association: %+v, %v", e, err)
	}
	err = admin.ApprovalTemplateAssociate(ctx, "nope", "app")
	wantErr(t, "associate an unknown template", err, pub.CodeNotFound, "approval rule template \"nope\" not found")
	err = admin.ApprovalTemplateAssociate(ctx, "reviewers-required", "nope")
	wantErr(t, "associate with an unknown repository", err, pub.CodeNotFound, "not found")
	for _, repo := range []string{"app", "app", "gone"} { // again: nothing changes
		if err := admin.ApprovalTemplateAssociate(ctx, "reviewers-required", repo); err != nil {
			t.Fatalf("associate with %s: %v", repo, err)
		}
	}
	if tm, err = admin.ApprovalTemplateGet(ctx, "reviewers-required", nil); err != nil || !slices.Equal(tm.Repositories, []string{"app", "gone"}) {
		t.Fatalf("get: %+v, %v", tm, err)
	}
	if l, err := admin.RepoApprovalTemplates(ctx, "app", nil); err != nil || len(l.Templates) != 1 || l.Templates[0].Name != "reviewers-required" {
		t.Fatalf("the repository's templates: %+v, %v", l, err)
	}

	// Associated after the pull request was opened, it applies to it; not to the one into dev.
	e, err := admin.PullRequestEvaluate(ctx, pr.ID, nil)
	if err != nil || e.Approved || len(e.Rules) != 1 || e.Rules[0].Name != "reviewers-required" || e.Rules[0].Origin != pub.RuleOriginTemplate || e.Rules[0].Satisfied {
		t.Fatalf("evaluate after the association: %+v, %v", e, err)
	}
	if e, err := admin.PullRequestEvaluate(ctx, toDev.ID, nil); err != nil || !e.Approved || len(e.Rules) != 0 {
		t.Fatalf("a pull request into dev: %+v, %v", e, err)
	}
	if got, err := admin.PullRequestGet(ctx, pr.ID, nil); err != nil || got.Approved || len(got.Rules) != 1 || got.Rules[0].Origin != pub.RuleOriginTemplate {
		t.Fatalf("get shows the template's rule: %+v, %v", got, err)
	}
	_, err = alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "fast-forward"})
	wantErr(t, "a merge before approval", err, pub.CodeConflict, "approval rule template reviewers-required needs 1 approvals")
	// The author is in the pool but still cannot approve her own pull request.
	_, err = alice.PullRequestApproval(ctx, pr.ID, pub.PullRequestApprovalRequest{State: "APPROVE"})
	wantErr(t, "the author approves", err, pub.CodeForbidden, "cannot approve it")
	if _, err := bob.PullRequestApproval(ctx, pr.ID, pub.PullRequestApprovalRequest{State: "APPROVE"}); err != nil {
		t.Fatal(err)
	}
	if e, err = admin.PullRequestEvaluate(ctx, pr.ID, nil); err != nil || !e.Approved || !slices.Equal(e.Rules[0].ApprovedBy, []string{"bob"}) {
		t.Fatalf("evaluate after bob's approval: %+v, %v", e, err)
	}

	// An update applies to open pull requests at once.
	if tm, err = admin.ApprovalTemplateUpdateContent(ctx, "reviewers-required", pub.ApprovalTemplateContent{Approvals: 2, Pool: []string{"group:reviewers"}, Branches: []string{"main"}}); err != nil || tm.Approvals != 2 || tm.Description != "one reviewer on main" {
		t.Fatalf("update the content: %+v, %v", tm, err)
	}
	if e, err = admin.PullRequestEvaluate(ctx, pr.ID, nil); err != nil || e.Approved || e.Rules[0].Approvals != 2 {
		t.Fatalf("evaluate after the update: %+v, %v", e, err)
	}
	if tm, err = admin.ApprovalTemplateUpdateDescription(ctx, "reviewers-required", "two reviewers on main"); err != nil || tm.Description != "two reviewers on main" || tm.Approvals != 2 {
		t.Fatalf("update the description: %+v, %v", tm, err)
	}
	_, err = admin.ApprovalTemplateUpdateContent(ctx, "reviewers-required", pub.ApprovalTemplateContent{Approvals: 0, Pool: []string{"bob"}})
	wantErr(t, "an update with no approvals", err, pub.CodeBadRequest, "needs 1-25 approvals")

	// A deleted repository's association is not shown, and a repository created again under
	// its name is another repository.
	if err := admin.RepoDelete(ctx, "gone", "gone"); err != nil {
		t.Fatal(err)
	}
	if tm, err = admin.ApprovalTemplateGet(ctx, "reviewers-required", nil); err != nil || !slices.Equal(tm.Repositories, []string{"app"}) {
		t.Fatalf("get after deleting a repository: %+v, %v", tm, err)
	}
	if _, err := admin.RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "gone"}); err != nil {
		t.Fatal(err)
	}
	if l, err := admin.RepoApprovalTemplates(ctx, "gone", nil); err != nil || len(l.Templates) != 0 {
		t.Fatalf("the templates of a repository created again: %+v, %v", l, err)
	}
	if err := admin.ApprovalTemplateAssociate(ctx, "everywhere", "gone"); err != nil {
		t.Fatal(err)
	}

	l, err := admin.ApprovalTemplateList(ctx, &pub.QueryOptions{Limit: 1})
	if err != nil || len(l.Templates) != 1 || l.Templates[0].Name != "everywhere" || l.Next == "" {
		t.Fatalf("list, first page: %+v, %v", l, err)
	}
	if l, err = admin.ApprovalTemplateList(ctx, &pub.QueryOptions{Limit: 1, Next: l.Next}); err != nil || len(l.Templates) != 1 || l.Templates[0].Name != "reviewers-required" {
		t.Fatalf("list, second page: %+v, %v", l, err)
	}

	// A read-only user reads templates but cannot change them or associate them.
	pw := "correct horse battery staple"
	if _, err := admin.UserCreate(ctx, pub.UserCreateRequest{Name: "rita", Password: pw}); err != nil {
		t.Fatal(err)
	}
	if err := admin.PolicyAttach(ctx, "CodeCommitReadOnlyAccess", pub.PolicyAttachRequest{User: "rita"}); err != nil {
		t.Fatal(err)
	}
	tk, err := admin.Login(ctx, pub.LoginRequest{User: "rita", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	rita := c.ClientWithToken(0, tk.SecretID)
	if _, err := rita.ApprovalTemplateGet(ctx, "everywhere", nil); err != nil {
		t.Fatalf("rita reads a template: %v", err)
	}
	if l, err := rita.RepoApprovalTemplates(ctx, "app", nil); err != nil || len(l.Templates) != 1 {
		t.Fatalf("rita lists app's templates: %+v, %v", l, err)
	}
	for what, do := range map[string]func() error{
		"codecommit:CreateApprovalRuleTemplate": func() error {
			_, err := rita.ApprovalTemplateCreate(ctx, pub.ApprovalTemplate{Name: "mine", Approvals: 1, Pool: []string{"rita"}})
			return err
		},
		"codecommit:UpdateApprovalRuleTemplateContent": func() error {
			_, err := rita.ApprovalTemplateUpdateContent(ctx, "everywhere", pub.ApprovalTemplateContent{Approvals: 1, Pool: []string{"rita"}})
			return err
		},
		"codecommit:DeleteApprovalRuleTemplate":                     func() error { return rita.ApprovalTemplateDelete(ctx, "everywhere") },
		"codecommit:AssociateApprovalRuleTemplateWithRepository":    func() error { return rita.ApprovalTemplateAssociate(ctx, "everywhere", "app") },
		"codecommit:DisassociateApprovalRuleTemplateFromRepository": func() error { return rita.ApprovalTemplateDisassociate(ctx, "reviewers-required", "app") },
	} {
		if err := do(); pub.ErrorCode(err) != pub.CodeForbidden || !strings.Contains(err.Error(), what) {
			t.Errorf("rita: %v; want forbidden naming %s", err, what)
		}
	}

	// Disassociated, then deleted: the rule is gone.
	if err := admin.ApprovalTemplateDisassociate(ctx, "reviewers-required", "app"); err != nil {
		t.Fatal(err)
	}
	err = admin.ApprovalTemplateDisassociate(ctx, "reviewers-required", "app")
	wantErr(t, "disassociate again", err, pub.CodeNotFound, "is not associated with repository app")
	if e, err = admin.PullRequestEvaluate(ctx, pr.ID, nil); err != nil || !e.Approved || len(e.Rules) != 0 {
		t.Fatalf("evaluate after the disassociation: %+v, %v", e, err)
	}
	if err := admin.ApprovalTemplateAssociate(ctx, "reviewers-required", "app"); err != nil {
		t.Fatal(err)
	}
	if err := admin.ApprovalTemplateDelete(ctx, "reviewers-required"); err != nil {
		t.Fatal(err)
	}
	if e, err = admin.PullRequestEvaluate(ctx, pr.ID, nil); err != nil || !e.Approved || len(e.Rules) != 0 {
		t.Fatalf("evaluate after the template was deleted: %+v, %v", e, err)
	}
	if _, err := admin.ApprovalTemplateGet(ctx, "reviewers-required", nil); !pub.IsNotFound(err) {
		t.Fatalf("get a deleted template: %v", err)
	}
	if l, err := admin.RepoApprovalTemplates(ctx, "app", nil); err != nil || len(l.Templates) != 0 {
		t.Fatalf("app's templates after the delete: %+v, %v", l, err)
	}
}
