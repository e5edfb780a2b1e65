package review

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/state"
)

// TestTemplateLogFormat pins the template commands and buckets: numbers, names, versions and
// JSON are in the Raft log and in snapshots.
func TestTemplateLogFormat(t *testing.T) {
	names := []string{"pr.template_create", "pr.template_update", "pr.template_delete", "pr.template_associate", "pr.template_disassociate"}
	for i, d := range []interface {
		Type() command.Type
		Name() string
		Version() uint8
	}{cmdTemplateCreate, cmdTemplateUpdate, cmdTemplateDelete, cmdTemplateAssociate, cmdTemplateDisassociate} {
		if int(d.Type()) != 1412+i || d.Name() != names[i] || d.Version() != 1 {
			t.Errorf("command %d is %d %s v%d", i, d.Type(), d.Name(), d.Version())
		}
	}
	c, _ := cmdTemplateCreate.New("", state0, TemplatePayload{Name: "two", TemplateContent: TemplateContent{Approvals: 2, Pool: []string{"group:reviewers"}, Branches: []string{"main"}}, Actor: "alice"})
	if string(c.Payload) != `{"name":"two","approvals":2,"pool":["group:reviewers"],"branches":["main"],"actor":"alice"}` {
		t.Errorf("pr.template_create payload %s", c.Payload)
	}
	c, _ = cmdTemplateAssociate.New("", state0, AssociatePayload{Name: "two", RepoID: "r1", Repo: "app", Drop: []string{"r0"}, Actor: "alice"})
	if string(c.Payload) != `{"name":"two","repo_id":"r1","repo":"app","drop":["r0"],"actor":"alice"}` {
		t.Errorf("pr.template_associate payload %s", c.Payload)
	}
	if string(bucketTemplates) != "review/templates" || string(bucketTemplateRepos) != "review/template_repos" {
		t.Errorf("buckets %s %s", bucketTemplates, bucketTemplateRepos)
	}
}

var state0 = time.Unix(0, 0)

func tmplPayload(name string) TemplatePayload {
	return TemplatePayload{Name: name, TemplateContent: TemplateContent{Approvals: 1, Pool: []string{"group:reviewers"}, Branches: []string{"main"}}, Actor: "admin"}
}

// TestTemplateValidation: every bound and syntax rule is refused at apply with a message that
// names it, and nothing is stored.
func TestTemplateValidation(t *testing.T) {
	f := newFSM(t)
	index := uint64(0)
	many := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	for _, tc := range []struct {
		what string
		edit func(p *TemplatePayload)
		has  string
	}{
		{"an empty name", func(p *TemplatePayload) { p.Name = "" }, "name is empty"},
		{"a name with a slash", func(p *TemplatePayload) { p.Name = "a/b" }, "is invalid"},
		{"a name too long", func(p *TemplatePayload) { p.Name = strings.Repeat("n", 101) }, "too long"},
		{"no approvals", func(p *TemplatePayload) { p.Approvals = 0 }, "needs 1-25 approvals, not 0"},
		{"26 approvals", func(p *TemplatePayload) { p.Approvals = 26 }, "needs 1-25 approvals, not 26"},
		{"an empty pool", func(p *TemplatePayload) { p.Pool = nil }, "pool names 1-100"},
		{"101 pool entries", func(p *TemplatePayload) { p.Pool = many(101, func(i int) string { return fmt.Sprint("u", i) }) }, "pool names 1-100"},
		{"an empty group", func(p *TemplatePayload) { p.Pool = []string{"group:"} }, "is not a user name, group:NAME"},
		{"user:NAME", func(p *TemplatePayload) { p.Pool = []string{"user:bob"} }, "is not a user name, group:NAME"},
		{"a bad glob", func(p *TemplatePayload) { p.Pool = []string{"dev-["} }, "is not a user name, group:NAME"},
		{"a pool entry with a newline", func(p *TemplatePayload) { p.Pool = []string{"bob\n"} }, "is not a user name"},
		{"51 branches", func(p *TemplatePayload) { p.Branches = many(51, func(i int) string { return fmt.Sprint("b", i) }) }, "51 branch patterns; the limit is 50"},
		{"refs/heads/main", func(p *TemplatePayload) { p.Branches = []string{"refs/heads/main"} }, "not refs/heads/main"},
		{"a bad branch glob", func(p *TemplatePayload) { p.Branches = []string{"release/["} }, "not a valid glob"},
		{"an empty branch", func(p *TemplatePayload) { p.Branches = []string{""} }, "is not a glob over branch names"},
		{"a description too long", func(p *TemplatePayload) { p.Description = strings.Repeat("d", 1025) }, "description is 1025 bytes"},
	} {
		p := tmplPayload("t")
		tc.edit(&p)
		index++
		wantCode(t, tc.what, apply(t, f, index, cmdTemplateCreate, p), fault.Invalid, tc.has)
	}
	if dump(t, f) != "" {
		t.Fatalf("refused creates stored %s", dump(t, f))
	}
	if r := apply(t, f, 102, cmdTemplateCreate, tmplPayload("t")); r.Err() != nil {
		t.Fatal(r.Err())
	}
	wantCode(t, "the same name again", apply(t, f, 103, cmdTemplateCreate, tmplPayload("t")), fault.Conflict, "already exists")
	wantCode(t, "an update of nothing", apply(t, f, 104, cmdTemplateUpdate, TemplateUpdatePayload{Name: "t"}), fault.Invalid, "changes nothing")
	wantCode(t, "an update with 0 approvals", apply(t, f, 105, cmdTemplateUpdate, TemplateUpdatePayload{Name: "t", Content: &TemplateContent{Pool: []string{"bob"}}}), fault.Invalid, "needs 1-25 approvals")
	wantCode(t, "an update of an unknown template", apply(t, f, 106, cmdTemplateUpdate, TemplateUpdatePayload{Name: "nope", Content: &TemplateContent{Approvals: 1, Pool: []string{"bob"}}}), fault.NotFound, "not found")
	wantCode(t, "an association without a repository ID", apply(t, f, 107, cmdTemplateAssociate, AssociatePayload{Name: "t", Repo: "app"}), fault.Invalid, "by ID and name")
	wantCode(t, "a disassociation of a repository not associated", apply(t, f, 108, cmdTemplateDisassociate, AssociatePayload{Name: "t", RepoID: "r1", Repo: "app"}), fault.NotFound, "is not associated with repository app")
}

// TestTemplateBounds: at most MaxTemplates templates and MaxTemplateAssociations repositories
// per template; an association that drops deleted repositories makes room.
func TestTemplateBounds(t *testing.T) {
	f := newFSM(t)
	index := uint64(0)
	for i := range MaxTemplates {
		index++
		if r := apply(t, f, index, cmdTemplateCreate, tmplPayload(fmt.Sprintf("t%04d", i))); r.Err() != nil {
			t.Fatal(r.Err())
		}
	}
	index++
	wantCode(t, "one template too many", apply(t, f, index, cmdTemplateCreate, tmplPayload("more")), fault.Conflict, "maximum of 1000 approval rule templates")
	index++
	if r := apply(t, f, index, cmdTemplateDelete, TemplateDeletePayload{Name: "t0000"}); r.Err() != nil {
		t.Fatal(r.Err())
	}
	index++
	if r := apply(t, f, index, cmdTemplateCreate, tmplPayload("more")); r.Err() != nil {
		t.Fatalf("a create after a delete: %v", r.Err())
	}

	for i := range MaxTemplateAssociations {
		index++
		if r := apply(t, f, index, cmdTemplateAssociate, AssociatePayload{Name: "more", RepoID: fmt.Sprintf("r%04d", i), Repo: "app"}); r.Err() != nil {
			t.Fatal(r.Err())
		}
	}
	index++
	if r := apply(t, f, index, cmdTemplateAssociate, AssociatePayload{Name: "more", RepoID: "r0007", Repo: "app"}); r.Err() != nil {
		t.Fatalf("associating a repository again at the bound: %v", r.Err())
	}
	index++
	wantCode(t, "one association too many", apply(t, f, index, cmdTemplateAssociate, AssociatePayload{Name: "more", RepoID: "x", Repo: "other"}), fault.Conflict, "maximum of 1000 repositories")
	index++
	r := apply(t, f, index, cmdTemplateAssociate, AssociatePayload{Name: "more", RepoID: "x", Repo: "other", Drop: []string{"r0001", "r0002"}})
	tm, err := command.Data[Template](r)
	if err != nil || len(tm.Repos) != MaxTemplateAssociations-1 {
		t.Fatalf("an association dropping two deleted repositories: %d repositories, %v", len(tm.Repos), err)
	}
	_ = f.Store().View(func(tx *state.Tx) error {
		for id, want := range map[string]int{"r0001": 0, "r0003": 1, "x": 1} {
			if got, err := templatesOfRepo(tx, id); err != nil || len(got) != want {
				t.Errorf("templates of %s: %d, %v; want %d", id, len(got), err, want)
			}
		}
		return nil
	})
}

// TestTemplateDeleteDropsAssociations: deleting a template removes its associations, so a
// template created again under its name is associated with nothing; disassociating removes
// one.
func TestTemplateDeleteDropsAssociations(t *testing.T) {
	f := newFSM(t)
	steps := []func(i uint64) command.Result{
		func(i uint64) command.Result { return apply(t, f, i, cmdTemplateCreate, tmplPayload("a")) },
		func(i uint64) command.Result { return apply(t, f, i, cmdTemplateCreate, tmplPayload("b")) },
		func(i uint64) command.Result {
			return apply(t, f, i, cmdTemplateAssociate, AssociatePayload{Name: "a", RepoID: "r1", Repo: "app"})
		},
		func(i uint64) command.Result {
			return apply(t, f, i, cmdTemplateAssociate, AssociatePayload{Name: "a", RepoID: "r2", Repo: "web"})
		},
		func(i uint64) command.Result {
			return apply(t, f, i, cmdTemplateAssociate, AssociatePayload{Name: "b", RepoID: "r1", Repo: "app"})
		},
	}
	for i, step := range steps {
		if r := step(uint64(i + 1)); r.Err() != nil {
			t.Fatal(r.Err())
		}
	}
	names := func(repoID string) string {
		var out []string
		_ = f.Store().View(func(tx *state.Tx) error {
			list, err := templatesOfRepo(tx, repoID)
			for _, tm := range list {
				out = append(out, tm.Name)
			}
			return err
		})
		return strings.Join(out, ",")
	}
	if names("r1") != "a,b" || names("r2") != "a" {
		t.Fatalf("associations: r1 %q, r2 %q", names("r1"), names("r2"))
	}
	if r := apply(t, f, 10, cmdTemplateDelete, TemplateDeletePayload{Name: "a"}); r.Err() != nil {
		t.Fatal(r.Err())
	}
	if names("r1") != "b" || names("r2") != "" {
		t.Fatalf("after deleting a: r1 %q, r2 %q", names("r1"), names("r2"))
	}
	if r := apply(t, f, 11, cmdTemplateCreate, tmplPayload("a")); r.Err() != nil {
		t.Fatal(r.Err())
	}
	if tm, _ := command.Data[Template](apply(t, f, 12, cmdTemplateUpdate, TemplateUpdatePayload{Name: "a", Description: ptr("again")})); len(tm.Repos) != 0 || tm.Description != "again" || tm.Approvals != 1 {
		t.Fatalf("a created again: %+v", tm)
	}
	if r := apply(t, f, 13, cmdTemplateDisassociate, AssociatePayload{Name: "b", RepoID: "r1", Repo: "app"}); r.Err() != nil {
		t.Fatal(r.Err())
	}
	if names("r1") != "" {
		t.Fatalf("after disassociating b: r1 %q", names("r1"))
	}
}

// TestTemplateApplyIsDeterministic: the same commands applied on two state machines leave the
// same bytes in the template buckets (what every server of a cluster holds).
func TestTemplateApplyIsDeterministic(t *testing.T) {
	run := func() string {
		f := newFSM(t)
		apply(t, f, 1, cmdTemplateCreate, tmplPayload("a"))
		apply(t, f, 2, cmdTemplateCreate, TemplatePayload{Name: "b", Description: "two seniors", TemplateContent: TemplateContent{Approvals: 2, Pool: []string{"alice", "lead-*"}}, Actor: "admin"})
		for i, id := range []string{"r3", "r1", "r2"} {
			apply(t, f, uint64(3+i), cmdTemplateAssociate, AssociatePayload{Name: "a", RepoID: id, Repo: "x", Actor: "admin"})
		}
		apply(t, f, 6, cmdTemplateAssociate, AssociatePayload{Name: "b", RepoID: "r1", Repo: "x", Drop: []string{"r9"}, Actor: "admin"})
		apply(t, f, 7, cmdTemplateUpdate, TemplateUpdatePayload{Name: "a", Content: &TemplateContent{Approvals: 2, Pool: []string{"group:reviewers"}, Branches: []string{"main", "release/*"}}, Actor: "bob"})
		apply(t, f, 8, cmdTemplateAssociate, AssociatePayload{Name: "a", RepoID: "r4", Repo: "x", Drop: []string{"r2"}, Actor: "bob"})
		apply(t, f, 9, cmdTemplateDisassociate, AssociatePayload{Name: "a", RepoID: "r3", Repo: "x", Actor: "bob"})
		return dump(t, f)
	}
	first, second := run(), run()
	if first != second || first == "" {
		t.Fatalf("two runs differ:\n%s\n%s", first, second)
	}
	for _, want := range []string{`"repos":["r1","r4"]`, "r1/a", "r1/b", "r4/a"} {
		if !strings.Contains(first, want) {
			t.Errorf("state lacks %s:\n%s", want, first)
		}
	}
	if strings.Contains(first, "r2/a") || strings.Contains(first, "r3/a") {
		t.Errorf("a dropped or disassociated repository is still indexed:\n%s", first)
	}
}

// dump is the template buckets' keys and values, in key order.
func dump(t *testing.T, f *fsm.FSM) string {
	t.Helper()
	var b bytes.Buffer
	_ = f.Store().View(func(tx *state.Tx) error {
		for _, name := range [][]byte{bucketTemplates, bucketTemplateRepos} {
			_ = tx.Bucket(name).ForEach(func(k, v []byte) error {
				fmt.Fprintf(&b, "%s %s=%s\n", name, k, v)
				return nil
			})
		}
		return nil
	})
	return b.String()
}

func ptr[T any](v T) *T { return &v }
