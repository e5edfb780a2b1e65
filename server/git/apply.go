package git

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"github.com/slipwayhq/slipway/server/git/hooks"
	"maps"
	"strings"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git/gitproto"
)

// Bounds apply enforces, each refused with a message that names it.
const (
	MaxRepos       = 10_000 // repositories in the cluster
	MaxRefsPerPush = 1_000  // ref updates in one push
	MaxRefsPerRepo = 10_000 // refs of one repository
	MaxTags        = 50     // tags of one repository (CodeCommit's limit)
	MaxTagKeyLen   = 128
	MaxTagValueLen = 256
	MaxDescription = 1_000 // bytes of a description (CodeCommit's limit)
	// Push options of one push and bytes of each (gitproto's receive limits, which the
	// transport enforces before git runs).
	MaxPushOptions   = gitproto.DefaultMaxPushOptions
	MaxPushOptionLen = gitproto.DefaultMaxPushOptionLen
	DefaultBranch    = "main"
	reasonFetch      = "fetch first" // git prints its pull hint for it (DESIGN.md finding 6)
	reasonAtomic     = "atomic push failure"
	zeroID           = "0000000000000000000000000000000000000000"
	repoIDLen        = 32
)

// applyCreate creates a repository after checking its name, metadata, the name and ID being
// free and the repository count.
func applyCreate(tx *state.Tx, index uint64, c *command.Command, p CreatePayload) (any, error) {
	if err := validateID(p.ID); err != nil {
		return nil, err
	}
	if p.DefaultBranch == "" {
		p.DefaultBranch = DefaultBranch
	}
	if err := validateMeta(p.Name, p.Description, p.DefaultBranch, p.Tags); err != nil {
		return nil, err
	}
	if tx.Bucket(bucketNames).Get([]byte(p.Name)) != nil {
		return nil, fault.New(fault.Conflict, "repository %s already exists: choose another name, or delete it first", p.Name)
	}
	if _, ok, err := getRecord(tx, p.ID); err != nil || ok {
		return nil, orConflict(err, "repository ID %s is already in use: retry the create", p.ID)
	}
	n := count(tx)
	if n >= MaxRepos {
		return nil, fault.New(fault.Conflict, "the cluster already holds its maximum of %d repositories: delete repositories that are no longer needed before creating %s", MaxRepos, p.Name)
	}
	r := Record{
		ID: p.ID, Name: p.Name, Description: p.Description, DefaultBranch: p.DefaultBranch, Tags: p.Tags,
		CreateIndex: index, ModifyIndex: index, CreateTime: c.Time, ModifyTime: c.Time,
	}
	if err := putRecord(tx, r); err != nil {
		return nil, err
	}
	if err := tx.Bucket(bucketNames).Put([]byte(r.Name), []byte(r.ID)); err != nil {
		return nil, err
	}
	return r, setCount(tx, n+1)
}

// applyUpdate changes a repository's metadata; a rename moves the name index only (refs and
// packs are keyed by the ID).
func applyUpdate(tx *state.Tx, index uint64, c *command.Command, p UpdatePayload) (any, error) {
	r, err := mustNamed(tx, p.Name)
	if err != nil {
		return nil, err
	}
	next := r
	if p.NewName != nil {
		next.Name = *p.NewName
	}
	if p.Description != nil {
		next.Description = *p.Description
	}
	if p.DefaultBranch != nil {
		next.DefaultBranch = *p.DefaultBranch
	}
	if p.Tags != nil {
		next.Tags = maps.Clone(*p.Tags)
	}
	if err := validateMeta(next.Name, next.Description, next.DefaultBranch, next.Tags); err != nil {
		return nil, err
	}
	if next.Name != r.Name {
		if tx.Bucket(bucketNames).Get([]byte(next.Name)) != nil {
			return nil, fault.New(fault.Conflict, "cannot rename %s to %s: a repository of that name exists", r.Name, next.Name)
		}
		if err := tx.Bucket(bucketNames).Delete([]byte(r.Name)); err != nil {
			return nil, err
		}
		if err := tx.Bucket(bucketNames).Put([]byte(next.Name), []byte(next.ID)); err != nil {
			return nil, err
		}
	}
	next.ModifyIndex, next.ModifyTime = index, c.Time
	return next, putRecord(tx, next)
}

// applyDelete removes a repository, its refs and its pack records, and drops its references on
// the pack blobs (the blob store collects them once nothing else references them).
func applyDelete(tx *state.Tx, _ uint64, _ *command.Command, p DeletePayload) (any, error) {
	r, err := mustNamed(tx, p.Name)
	if err != nil {
		return nil, err
	}
	if err := deleteAll(tx, bucketRefs, r.ID, nil); err != nil {
		return nil, err
	}
	if err := deleteProtectionState(tx, r.ID); err != nil {
		return nil, err
	}
	err = deleteAll(tx, bucketPacks, r.ID, func(k, v []byte) error {
		var pk Pack
		if err := json.Unmarshal(v, &pk); err != nil {
			return fault.New(fault.Internal, "decode pack record of repository %s: %v", r.ID, err)
		}
		return tx.Blobs().RemoveRef(pk.SHA256, packOwner(r.ID, binary.BigEndian.Uint64(k[len(k)-8:])))
	})
	if err != nil {
		return nil, err
	}
	if err := tx.Bucket(bucketNames).Delete([]byte(r.Name)); err != nil {
		return nil, err
	}
	if err := hooks.DeleteRepo(tx, r.ID); err != nil {
		return nil, err
	}
	if err := state.Delete(tx, bucketRepos, r.ID); err != nil {
		return nil, err
	}
	if n := count(tx); n > 0 {
		return nil, setCount(tx, n-1)
	}
	return nil, nil
}

// applyPush applies a push's ref updates, each a compare-and-swap on its old value. A malformed
// push (bounds, names, object IDs, a ref named twice, an unknown pack) is refused whole. Then
// each update is checked against the refs as the earlier updates of the same push left them: a
// failed compare-and-swap is "fetch first", a new ref over MaxRefsPerRepo says so. An atomic push
// with any failure writes nothing and answers the others "atomic push failure". The pack is
// recorded (and its blob referenced) when at least one update applied.
func applyPush(tx *state.Tx, index uint64, c *command.Command, p PushPayload) (any, error) {
	res, err := applyPushRefs(tx, index, p)
	if err != nil {
		return nil, err
	}
	if err := emitPush(tx, c, p, res.Results); err != nil {
		return nil, err
	}
	res.detail = pushDetail(p, res.Results)
	return res, nil
}

// pushDetail is a push's audit detail: "N refs (A applied, R rejected)", then each ref as
// "REF OLD..NEW ok|rejected (REASON)" (the zero ID for a created or deleted ref), the pack's
// sha256 and the push options. The audit record bounds it (audit.MaxDetailLen): a push of
// many refs keeps the first ones.
func pushDetail(p PushPayload, results []PushOutcome) string {
	var b strings.Builder
	ok := 0
	for _, r := range results {
		if r.OK {
			ok++
		}
	}
	fmt.Fprintf(&b, "%d refs (%d applied, %d rejected)", len(results), ok, len(results)-ok)
	if p.Atomic {
		b.WriteString(", atomic")
	}
	if p.Pack != "" {
		fmt.Fprintf(&b, ", pack %s", p.Pack)
	}
	if len(p.Options) > 0 {
		fmt.Fprintf(&b, ", push options %q", p.Options)
	}
	b.WriteString(":")
	for i, u := range p.Updates {
		fmt.Fprintf(&b, " %s %s..%s", u.Ref, u.Old, u.New)
		switch {
		case i >= len(results):
		case results[i].OK:
			b.WriteString(" ok;")
		default:
			fmt.Fprintf(&b, " rejected (%s);", results[i].Reason)
		}
	}
	return strings.TrimSuffix(b.String(), ";")
}

// applyPushRefs applies a push's ref updates (applyPush).
func applyPushRefs(tx *state.Tx, index uint64, p PushPayload) (PushResult, error) {
	r, err := mustRecord(tx, p.ID)
	if err != nil {
		return PushResult{}, err
	}
	if err := validatePush(tx, p); err != nil {
		return PushResult{}, err
	}
	results := make([]PushOutcome, len(p.Updates))
	nrefs, failed := r.Refs, false
	after := map[string]bool{} // refs this push's earlier updates create (true) or delete (false)
	for i, u := range p.Updates {
		results[i] = PushOutcome{Ref: u.Ref, OK: true}
		cur := getRef(tx, r.ID, u.Ref)
		if why := refusedInApply(tx, r.ID, p, u); why != "" {
			results[i] = PushOutcome{Ref: u.Ref, Reason: why}
			failed = true
			continue
		}
		switch {
		case u.Old == zeroID && cur != "", u.Old != zeroID && cur != u.Old:
			results[i] = PushOutcome{Ref: u.Ref, Reason: reasonFetch}
		case cur == "" && u.New != zeroID && nrefs >= MaxRefsPerRepo:
			results[i] = PushOutcome{Ref: u.Ref, Reason: fmt.Sprintf("repository %s already has its maximum of %d refs: delete some first", r.Name, MaxRefsPerRepo)}
		case cur == "" && u.New != zeroID:
			if other := nameConflict(tx, r.ID, u.Ref, after); other != "" {
				results[i] = PushOutcome{Ref: u.Ref, Reason: fmt.Sprintf("cannot create %s while %s exists", u.Ref, other)}
				break
			}
			nrefs++
			after[u.Ref] = true
		case cur != "" && u.New == zeroID:
			nrefs--
			after[u.Ref] = false
		}
		failed = failed || !results[i].OK
	}
	if p.Atomic && failed {
		for i := range results {
			if results[i].OK {
				results[i] = PushOutcome{Ref: results[i].Ref, Reason: reasonAtomic}
			}
		}
		return PushResult{Results: results}, nil
	}
	if !anyOK(results) {
		return PushResult{Results: results}, nil // nothing to write: the pack is not recorded
	}
	for i, u := range p.Updates {
		if !results[i].OK {
			continue
		}
		k := refKey(r.ID, u.Ref)
		if u.New == zeroID {
			err = tx.Bucket(bucketRefs).Delete(k)
		} else {
			err = tx.Bucket(bucketRefs).Put(k, []byte(u.New))
		}
		if err != nil {
			return PushResult{}, err
		}
	}
	if p.Pack != "" {
		b, err := tx.Blobs().Get(p.Pack)
		if err != nil {
			return PushResult{}, err
		}
		if err := state.Put(tx, bucketPacks, string(packKey(r.ID, r.Packs)), Pack{SHA256: b.SHA256, Size: b.Size, CreateIndex: index}); err != nil {
			return PushResult{}, err
		}
		if err := tx.Blobs().AddRef(b.SHA256, packOwner(r.ID, r.Packs)); err != nil {
			return PushResult{}, err
		}
		r.Packs++
	}
	r.Refs, r.PushIndex = nrefs, index
	return PushResult{Results: results}, putRecord(tx, r)
}

// validatePush checks what does not depend on the refs' current values.
func validatePush(tx *state.Tx, p PushPayload) error {
	if len(p.Updates) == 0 {
		return fault.New(fault.Invalid, "the push updates no ref")
	}
	if len(p.Updates) > MaxRefsPerPush {
		return fault.New(fault.TooLarge, "the push updates %d refs, over the limit of %d per push: push fewer refs at a time", len(p.Updates), MaxRefsPerPush)
	}
	seen := make(map[string]bool, len(p.Updates))
	for _, u := range p.Updates {
		if err := gitproto.ValidateRefName(u.Ref); err != nil {
			return fault.New(fault.Invalid, "%v", err)
		}
		if seen[u.Ref] {
			return fault.New(fault.Invalid, "the push updates %s twice", u.Ref)
		}
		seen[u.Ref] = true
		if !isObjectID(u.Old) || !isObjectID(u.New) {
			return fault.New(fault.Invalid, "ref %s: old and new must be 40 lowercase hex digits (got %q, %q)", u.Ref, state.Shorten(u.Old), state.Shorten(u.New))
		}
	}
	if len(p.Options) > MaxPushOptions {
		return fault.New(fault.TooLarge, "the push carries %d push options, over the limit of %d: send fewer -o options", len(p.Options), MaxPushOptions)
	}
	for _, o := range p.Options {
		if len(o) > MaxPushOptionLen || strings.ContainsAny(o, "\x00\n\r") {
			return fault.New(fault.Invalid, "push option %q is over %d bytes or holds a NUL or line break: git sends neither", state.Shorten(o), MaxPushOptionLen)
		}
	}
	if p.Pack != "" {
		if _, err := tx.Blobs().Get(p.Pack); err != nil {
			return fault.New(fault.Invalid, "the push's pack %s is not a stored blob: store it first (StorePack)", state.Shorten(p.Pack))
		}
	}
	return nil
}

// nameConflict returns a ref that keeps ref from being created, as git cannot hold both (one is
// a directory of the other: refs/heads/a and refs/heads/a/b), "" when there is none. after
// overrides the state for refs the same push already creates or deletes.
func nameConflict(tx *state.Tx, id, ref string, after map[string]bool) string {
	exists := func(name string) bool {
		if v, ok := after[name]; ok {
			return v
		}
		return getRef(tx, id, name) != ""
	}
	for i := len("refs/"); i < len(ref); i++ {
		if ref[i] == '/' && exists(ref[:i]) {
			return ref[:i]
		}
	}
	prefix := ref + "/"
	for name, v := range after {
		if v && strings.HasPrefix(name, prefix) {
			return name
		}
	}
	start := refKey(id, prefix)
	c := tx.Bucket(bucketRefs).Cursor()
	for k, _ := c.Seek(start); k != nil && bytes.HasPrefix(k, start); k, _ = c.Next() {
		if name := string(k[len(id)+1:]); exists(name) {
			return name
		}
	}
	return ""
}

func anyOK(rs []PushOutcome) bool {
	for _, r := range rs {
		if r.OK {
			return true
		}
	}
	return false
}

// validateMeta checks a repository's name, description, default branch and tags.
func validateMeta(name, description, branch string, tags map[string]string) error {
	if err := gitproto.ValidateRepoName(name); err != nil {
		return fault.New(fault.Invalid, "%v", err)
	}
	if len(description) > MaxDescription {
		return fault.New(fault.Invalid, "the description of %d bytes is over the limit of %d", len(description), MaxDescription)
	}
	if err := gitproto.ValidateRefName("refs/heads/" + branch); branch == "" || err != nil {
		return fault.New(fault.Invalid, "default branch %q is not a valid branch name: use one such as main", state.Shorten(branch))
	}
	if len(tags) > MaxTags {
		return fault.New(fault.Invalid, "%d tags are over the limit of %d per repository", len(tags), MaxTags)
	}
	for k, v := range tags {
		if k == "" || len(k) > MaxTagKeyLen || strings.HasPrefix(k, "aws:") {
			return fault.New(fault.Invalid, "tag key %q must be 1-%d characters and not start with aws:", state.Shorten(k), MaxTagKeyLen)
		}
		if len(v) > MaxTagValueLen {
			return fault.New(fault.Invalid, "tag %s: the value is over %d characters", k, MaxTagValueLen)
		}
	}
	return nil
}

func validateID(id string) error {
	if len(id) != repoIDLen || !isHex(id) {
		return fault.New(fault.Invalid, "repository ID %q is not %d lowercase hex digits", state.Shorten(id), repoIDLen)
	}
	return nil
}

func mustRecord(tx *state.Tx, id string) (Record, error) {
	r, ok, err := getRecord(tx, id)
	if err != nil {
		return r, err
	}
	if !ok {
		return r, fault.New(fault.NotFound, "repository %s not found: it was deleted", state.Shorten(id))
	}
	return r, nil
}

func mustNamed(tx *state.Tx, name string) (Record, error) {
	r, ok, err := recordByName(tx, name)
	if err != nil {
		return r, err
	}
	if !ok {
		return r, fault.New(fault.NotFound, "repository %s not found", state.Shorten(name))
	}
	return r, nil
}

func orConflict(err error, format string, args ...any) error {
	if err != nil {
		return err
	}
	return fault.New(fault.Conflict, format, args...)
}

func isObjectID(s string) bool { return len(s) == 40 && isHex(s) }

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
