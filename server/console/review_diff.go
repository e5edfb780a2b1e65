package console

import (
	"strconv"
	"strings"
)

// A pull request's patch as the files page draws it: git's unified diff (the git service runs
// `git diff --no-renames`, so a rename is a deletion and an addition, but a "rename from" header
// is understood all the same) parsed into one table per file, each line with its old and new
// number, so line comments can be placed under the line they are on.

// diffFile is one file of a patch.
type diffFile struct {
	OldPath, NewPath string
	Status           string // "added", "deleted", "renamed", "modified"
	Binary           bool
	Mode             string // a mode change ("100644 → 100755"), "" when none
	Rows             []diffRow
}

// Path is the file's name on the side that has it: the new one, the old one of a deletion.
func (f diffFile) Path() string {
	if f.NewPath != "" {
		return f.NewPath
	}
	return f.OldPath
}

// diffRow is one line of a file's diff: a hunk header ("hunk", Text the header), a line added
// (New set), removed (Old set) or unchanged (both), or git's "\ No newline at end of file"
// ("note").
type diffRow struct {
	Kind     string // "hunk", "add", "del", "ctx", "note"
	Old, New int
	Text     string
}

// parseDiff parses a unified diff as `git diff` writes it. It never fails: a line it does not
// understand before the first file is skipped, inside a file's header it is ignored, and a
// hunk's count that runs past the text (a patch cut at its bound) ends the hunk where the text
// ends.
func parseDiff(patch string) []diffFile {
	var files []diffFile
	var f *diffFile
	oldN, newN := 0, 0
	inHunk := false
	lines := strings.Split(patch, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "diff --git ") {
			files = append(files, diffFile{Status: "modified"})
			f = &files[len(files)-1]
			f.OldPath, f.NewPath = splitGitPaths(strings.TrimPrefix(l, "diff --git "))
			inHunk = false
			continue
		}
		if f == nil {
			continue
		}
		if inHunk {
			switch {
			case strings.HasPrefix(l, "+"):
				newN++
				f.Rows = append(f.Rows, diffRow{Kind: "add", New: newN, Text: l[1:]})
				continue
			case strings.HasPrefix(l, "-"):
				oldN++
				f.Rows = append(f.Rows, diffRow{Kind: "del", Old: oldN, Text: l[1:]})
				continue
			case strings.HasPrefix(l, " "), l == "":
				oldN++
				newN++
				f.Rows = append(f.Rows, diffRow{Kind: "ctx", Old: oldN, New: newN, Text: strings.TrimPrefix(l, " ")})
				continue
			case strings.HasPrefix(l, `\`):
				f.Rows = append(f.Rows, diffRow{Kind: "note", Text: strings.TrimSpace(l[1:])})
				continue
			}
		}
		switch {
		case strings.HasPrefix(l, "@@"):
			o, n, ok := hunkStarts(l)
			if !ok {
				inHunk = false
				continue
			}
			oldN, newN, inHunk = o-1, n-1, true
			f.Rows = append(f.Rows, diffRow{Kind: "hunk", Text: l})
		case strings.HasPrefix(l, "new file mode "):
			f.Status, f.OldPath = "added", ""
		case strings.HasPrefix(l, "deleted file mode "):
			f.Status, f.NewPath = "deleted", ""
		case strings.HasPrefix(l, "rename from "):
			f.Status, f.OldPath = "renamed", unquotePath(strings.TrimPrefix(l, "rename from "))
		case strings.HasPrefix(l, "rename to "):
			f.Status, f.NewPath = "renamed", unquotePath(strings.TrimPrefix(l, "rename to "))
		case strings.HasPrefix(l, "old mode "):
			f.Mode = strings.TrimPrefix(l, "old mode ")
		case strings.HasPrefix(l, "new mode "):
			f.Mode += " → " + strings.TrimPrefix(l, "new mode ")
		case strings.HasPrefix(l, "Binary files "), l == "GIT binary patch":
			f.Binary = true
		case strings.HasPrefix(l, "--- "):
			if p := sidePath(strings.TrimPrefix(l, "--- "), "a/"); p != "" && f.Status != "added" {
				f.OldPath = p
			}
		case strings.HasPrefix(l, "+++ "):
			if p := sidePath(strings.TrimPrefix(l, "+++ "), "b/"); p != "" && f.Status != "deleted" {
				f.NewPath = p
			}
		}
	}
	return files
}

// hunkStarts reads the first old and new line numbers of "@@ -a,b +c,d @@ ...".
func hunkStarts(l string) (old, new int, ok bool) {
	f := strings.Fields(l)
	if len(f) < 4 || f[0] != "@@" || !strings.HasPrefix(f[1], "-") || !strings.HasPrefix(f[2], "+") {
		return 0, 0, false
	}
	num := func(s string) (int, bool) {
		s, _, _ = strings.Cut(s[1:], ",")
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= 0
	}
	o, ok1 := num(f[1])
	n, ok2 := num(f[2])
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	// A side with no lines ("-0,0") starts at 0: the first line counted is 1.
	return max(o, 1), max(n, 1), true
}

// sidePath is the path of a "---"/"+++" line ("" for /dev/null), without its a/ or b/.
func sidePath(s, prefix string) string {
	s = strings.TrimSuffix(s, "\t")
	if s == "/dev/null" {
		return ""
	}
	return strings.TrimPrefix(unquotePath(s), prefix)
}

// splitGitPaths reads the two paths of "diff --git a/P b/Q". Quoted paths are unquoted; an
// unquoted pair is split where both halves are the same path (git writes no other pair without
// renames), else at the last " b/".
func splitGitPaths(s string) (string, string) {
	if strings.HasPrefix(s, `"`) {
		if end := closingQuote(s); end > 0 {
			a := unquotePath(s[:end+1])
			b := unquotePath(strings.TrimSpace(s[end+1:]))
			return strings.TrimPrefix(a, "a/"), strings.TrimPrefix(b, "b/")
		}
	}
	if n := len(s); n > 5 && (n-1)%2 == 0 {
		half := (n - 1) / 2
		a, b := s[:half], s[half+1:]
		if strings.HasPrefix(a, "a/") && strings.HasPrefix(b, "b/") && a[2:] == b[2:] {
			return a[2:], b[2:]
		}
	}
	if i := strings.LastIndex(s, " b/"); i > 0 {
		b := s[i+1:]
		if strings.HasPrefix(b, `"`) {
			b = unquotePath(b)
		}
		return strings.TrimPrefix(s[:i], "a/"), strings.TrimPrefix(b, "b/")
	}
	return s, s
}

// closingQuote is the index of the quote that closes the C-quoted string s starts with.
func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// unquotePath undoes git's C quoting of a path with unusual bytes ("a/t\303\251st"); a path
// that is not quoted, or not quoted as Go reads it, is returned as it is.
func unquotePath(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}
