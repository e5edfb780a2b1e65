package review_test

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/review"
)

// TestCodeOwners: main's CODEOWNERS (*.go @bob, /docs/ @org/writers, and a malformed line)
// adds rules to alice's pull request that changes main.go and moves docs/guide.md out of docs:
// two CODEOWNERS rules unmet, each naming its paths (the move's old side included), the bad
// line reported with its number, the merge refused naming both; bob approves and his holds;
// carol, a writer, approves and it merges. A pull request changing only unowned files needs
// nothing. The author cannot meet a rule whose only owner they are. A change over the bound of
// changed paths needs an override.
func TestCodeOwners(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	admin := c.Client(0)
	if _, err := admin.RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codecommit:*","Resource":"*"}]}`
	if _, err := admin.PolicyCreate(ctx, pub.PolicyPutRequest{Name: "code", Document: doc}); err != nil {
		t.Fatal(err)
	}
	alice, bob, carol := user(t, c, 0, "alice"), user(t, c, 0, "bob"), user(t, c, 0, "carol")
	if _, err := admin.IAMGroupCreate(ctx, pub.IAMGroupCreateRequest{Name: "writers"}); err != nil {
		t.Fatal(err)
	}
	if err := admin.IAMGroupAddUser(ctx, "writers", "carol"); err != nil {
		t.Fatal(err)
	}
	put := func(cl *pub.Client, branch, path, content, parent string) string {
		t.Helper()
		res, err := cl.RepoPutFile(ctx, "app", pub.FilePutRequest{Branch: branch, Path: path, Content: content, Parent: parent, Delete: content == "", Message: "edit " + path})
		if err != nil {
			t.Fatal(err)
		}
		return res.Commit
	}
	owners := "# Owners of app.\n*.go @bob\n*.md @bad!owner\n/docs/ @org/writers\n"
	main := put(admin, "main", "docs/guide.md", "guide\n", "")
	main = put(admin, "main", "CODEOWNERS", owners, main)

	// alice changes main.go and moves docs/guide.md to guide.md (owned by no valid line).
	feat := put(alice, "feature/a", "main.go", "package main\n", main)
	feat = put(alice, "feature/a", "guide.md", "guide\n", feat)
	put(alice, "feature/a", "docs/guide.md", "", feat)
	pr, err := alice.PullRequestCreate(ctx, pub.PullRequestCreateRequest{Repository: "app", Source: "feature/a", Destination: "main", Title: "a"})
	if err != nil {
		t.Fatal(err)
	}
	e, err := alice.PullRequestEvaluate(ctx, pr.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.Approved || len(e.Rules) != 2 {
		t.Fatalf("evaluation before approvals: %+v; want two rules unmet", e)
	}
	for i, want := range []pub.PullRequestRuleState{
		{PullRequestRule: pub.PullRequestRule{Name: "CODEOWNERS: @bob", Approvals: 1, Pool: []string{"bob"}}, Paths: []string{"main.go"}},
		{PullRequestRule: pub.PullRequestRule{Name: "CODEOWNERS: @org/writers", Approvals: 1, Pool: []string{"group:writers"}}, Paths: []string{"docs/guide.md"}},
	} {
		r := e.Rules[i]
		if r.Name != want.Name || r.Origin != pub.RuleOriginCodeOwners || r.Approvals != 1 || !slices.Equal(r.Pool, want.Pool) || !slices.Equal(r.Paths, want.Paths) || r.Satisfied {
			t.Errorf("rule %d: %+v; want %+v unmet, of origin codeowners", i, r, want)
		}
	}
	if f := e.CodeOwners; f == nil || f.Path != "CODEOWNERS" || f.Commit != main || len(f.Diagnostics) != 1 || f.Diagnostics[0].Line != 3 || f.Diagnostics[0].Kind != "owner" || !strings.Contains(f.Diagnostics[0].Message, "@bad!owner") {
		t.Fatalf("the file as evaluated: %+v; want CODEOWNERS at %s with line 3's bad owner", f, main)
	}
	_, err = alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "squash"})
	wantErr(t, "merge before approvals", err, pub.CodeConflict, "CODEOWNERS: @bob needs 1 approvals")
	wantErr(t, "merge before approvals", err, pub.CodeConflict, "CODEOWNERS: @org/writers needs 1 approvals")

	if _, err := bob.PullRequestApproval(ctx, pr.ID, pub.PullRequestApprovalRequest{State: "APPROVE"}); err != nil {
		t.Fatal(err)
	}
	got, err := alice.PullRequestGet(ctx, pr.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Approved || len(got.Rules) != 2 || !got.Rules[0].Satisfied || !slices.Equal(got.Rules[0].ApprovedBy, []string{"bob"}) || got.Rules[1].Satisfied {
		t.Fatalf("after bob's approval: %+v; want @bob's rule held, the writers' not", got.Rules)
	}
	_, err = alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "squash"})
	wantErr(t, "merge with bob's approval", err, pub.CodeConflict, "CODEOWNERS: @org/writers needs")
	if strings.Contains(err.Error(), "CODEOWNERS: @bob ") {
		t.Fatalf("the refusal names bob's rule, which holds: %v", err)
	}
	if _, err := carol.PullRequestApproval(ctx, pr.ID, pub.PullRequestApprovalRequest{State: "APPROVE"}); err != nil {
		t.Fatal(err)
	}
	merged, err := alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "squash"})
	if err != nil || merged.Status != "merged" {
		t.Fatalf("merge with both owners' approvals: %+v, %v", merged, err)
	}

	// Only unowned files: no CODEOWNERS rule, approved, merged without approvals.
	b, err := admin.RepoBranch(ctx, "app", "main")
	if err != nil {
		t.Fatal(err)
	}
	put(alice, "notes", "notes.txt", "n\n", b.Commit)
	pr, err = alice.PullRequestCreate(ctx, pub.PullRequestCreateRequest{Repository: "app", Source: "notes", Destination: "main", Title: "notes"})
	if err != nil {
		t.Fatal(err)
	}
	if e, err = alice.PullRequestEvaluate(ctx, pr.ID, nil); err != nil || !e.Approved || len(e.Rules) != 0 || e.CodeOwners == nil {
		t.Fatalf("an unowned change: %+v, %v; want approved, no rules, the file shown", e, err)
	}
	if merged, err = alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "three-way"}); err != nil || merged.Status != "merged" {
		t.Fatalf("merge of an unowned change: %+v, %v", merged, err)
	}

	// bob's own change to a .go file: he is its only owner and cannot approve; alice's
	// approval is not his.
	if b, err = admin.RepoBranch(ctx, "app", "main"); err != nil {
		t.Fatal(err)
	}
	put(bob, "bob", "util.go", "package main\n", b.Commit)
	pr, err = bob.PullRequestCreate(ctx, pub.PullRequestCreateRequest{Repository: "app", Source: "bob", Destination: "main", Title: "util"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bob.PullRequestApproval(ctx, pr.ID, pub.PullRequestApprovalRequest{State: "APPROVE"})
	wantErr(t, "bob approves his own", err, pub.CodeForbidden, "cannot approve it")
	if _, err := alice.PullRequestApproval(ctx, pr.ID, pub.PullRequestApprovalRequest{State: "APPROVE"}); err != nil {
		t.Fatal(err)
	}
	if e, err = bob.PullRequestEvaluate(ctx, pr.ID, nil); err != nil || e.Approved || len(e.Rules) != 1 || e.Rules[0].Name != "CODEOWNERS: @bob" {
		t.Fatalf("the author's own rule: %+v, %v; want CODEOWNERS: @bob unmet", e, err)
	}
	_, err = bob.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "squash"})
	wantErr(t, "the author merges without another owner", err, pub.CodeConflict, "CODEOWNERS: @bob")

	// Over the bound of changed paths (lowered to 3, and to 1 path listed per rule): the paths
	// past it make a rule nobody meets, so only an override merges.
	defer review.SetCodeOwnersBounds(3, 1)()
	head := b.Commit
	for _, f := range []string{"a.go", "b.go", "c.go", "d.go"} {
		head = put(alice, "many", f, "package main\n", head)
	}
	pr, err = alice.PullRequestCreate(ctx, pub.PullRequestCreateRequest{Repository: "app", Source: "many", Destination: "main", Title: "many"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.PullRequestApproval(ctx, pr.ID, pub.PullRequestApprovalRequest{State: "APPROVE"}); err != nil {
		t.Fatal(err)
	}
	e, err = alice.PullRequestEvaluate(ctx, pr.ID, nil)
	if err != nil || e.Approved || len(e.Rules) != 2 || !e.Rules[0].Satisfied || !slices.Equal(e.Rules[0].Paths, []string{"a.go"}) || e.Rules[0].MorePaths != 2 ||
		e.Rules[1].Satisfied || !strings.Contains(e.Rules[1].Name, "more than 3 changed paths") {
		t.Fatalf("a change over the bound: %+v, %v; want @bob's rule held (a.go and 2 more) and the bound's rule unmet", e, err)
	}
	_, err = alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "squash"})
	wantErr(t, "merge over the bound", err, pub.CodeConflict, "more than 3 changed paths")
	if _, err := admin.PullRequestOverride(ctx, pr.ID, true); err != nil {
		t.Fatal(err)
	}
	if merged, err = alice.PullRequestMerge(ctx, pr.ID, pub.PullRequestMergeRequest{Strategy: "squash"}); err != nil || merged.Status != "merged" {
		t.Fatalf("merge over the bound after an override: %+v, %v", merged, err)
	}
}
