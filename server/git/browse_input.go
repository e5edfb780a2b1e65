package git

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Bounds of what a browse request may name.
const (
	maxRevLen  = 1024
	maxPathLen = 4096
)

// checkRev checks a revision a browse request names (?ref=, ?base=, ?head=, a commit ID or a
// branch) before git sees it: 1-1024 bytes of UTF-8, no control characters or spaces, not
// starting with '-' (git would read an option), and none of the forms that are not one commit:
// a range (".."), a path or message search (':'), a reflog ("@{") or a glob ('*', '?', '[').
// "" is refused here; callers choose a default first.
func checkRev(what, rev string) error {
	switch {
	case rev == "":
		return fault.New(fault.Invalid, "%s is empty: name a branch, a tag or a commit ID", what)
	case len(rev) > maxRevLen:
		return fault.New(fault.Invalid, "%s is %d bytes, over the limit of %d", what, len(rev), maxRevLen)
	case !utf8.ValidString(rev):
		return fault.New(fault.Invalid, "%s is not valid UTF-8", what)
	case rev[0] == '-':
		return fault.New(fault.Invalid, "%s %s starts with '-': name a branch, a tag or a commit ID", what, state.Shorten(rev))
	case strings.Contains(rev, ".."):
		return fault.New(fault.Invalid, "%s %s contains \"..\": name one commit (compare takes base and head)", what, state.Shorten(rev))
	case strings.Contains(rev, "@{"):
		return fault.New(fault.Invalid, "%s %s contains \"@{\": reflogs are not kept, name a branch, a tag or a commit ID", what, state.Shorten(rev))
	}
	for _, c := range rev {
		if c <= ' ' || c == 0x7f || strings.ContainsRune(":*?[\\", c) {
			return fault.New(fault.Invalid, "%s %s contains %q, which no branch, tag or commit ID does", what, state.Shorten(rev), c)
		}
	}
	return nil
}

// checkPath checks a path inside a repository a browse request names (?path=) and returns it
// cleaned of a leading or trailing '/' ("" is the root). It must be a clean relative path:
// UTF-8, at most 4096 bytes, no NUL or newline, no empty, "." or ".." element, and no element
// starting with '-'.
func checkPath(p string) (string, error) {
	p = strings.TrimSuffix(strings.TrimPrefix(p, "/"), "/")
	if p == "" {
		return "", nil
	}
	switch {
	case len(p) > maxPathLen:
		return "", fault.New(fault.Invalid, "path is %d bytes, over the limit of %d", len(p), maxPathLen)
	case !utf8.ValidString(p):
		return "", fault.New(fault.Invalid, "path is not valid UTF-8")
	case strings.ContainsAny(p, "\x00\n\r"):
		return "", fault.New(fault.Invalid, "path %s contains a NUL or a line break", state.Shorten(p))
	}
	for _, e := range strings.Split(p, "/") {
		switch {
		case e == "" || e == ".":
			return "", fault.New(fault.Invalid, "path %s is not clean (an empty or \".\" element): write it as a/b/c", state.Shorten(p))
		case e == "..":
			return "", fault.New(fault.Invalid, "path %s contains \"..\": paths are relative to the repository's root and stay inside it", state.Shorten(p))
		case e[0] == '-':
			return "", fault.New(fault.Invalid, "path %s has an element starting with '-', which is refused", state.Shorten(p))
		}
	}
	return p, nil
}

// logCursor is where a page of the commit log continues: the commit the first page started
// from (so pushes in between do not shift the pages) and how many commits came before.
type logCursor struct {
	Tip  string
	Skip int
}

// maxSkip bounds how deep the log is paged (git walks every skipped commit again).
const maxSkip = 1_000_000

func (c logCursor) String() string { return c.Tip + "." + strconv.Itoa(c.Skip) }

// parseLogCursor reads a ?next= of the commit log: 40 or 64 hex digits, '.', a count.
func parseLogCursor(s string) (logCursor, error) {
	tip, n, ok := strings.Cut(s, ".")
	if !ok || !isHexID(tip) {
		return logCursor{}, fault.New(fault.Invalid, "next %s is not a cursor of this log: pass the next of the previous page as it was", state.Shorten(s))
	}
	skip, err := strconv.Atoi(n)
	if err != nil || skip <= 0 || skip > maxSkip || strconv.Itoa(skip) != n {
		return logCursor{}, fault.New(fault.Invalid, "next %s is not a cursor of this log (or is deeper than %d commits): pass the next of the previous page as it was", state.Shorten(s), maxSkip)
	}
	return logCursor{Tip: tip, Skip: skip}, nil
}

// isHexID reports a full object ID: 40 (SHA-1) or 64 (SHA-256) hex digits.
func isHexID(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	return isHex(s)
}
