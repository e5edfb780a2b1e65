package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/review"
)

// prFile is one file of the files page: its diff, each line with the comments placed on it,
// and the comments of the current revision on its lines the diff does not show.
type prFile struct {
	diffFile
	Anchor    string
	Lines     []prLine
	Elsewhere []prThread
}

// prLine is a line of a file's diff with the threads on it, the link that opens the comment
// form under it (Side and N: the line a comment from it is on), and whether the form is open
// under it.
type prLine struct {
	diffRow
	Anchor  string
	Side    string // review.SideSource (an added or unchanged line) or SideDestination (a removed one)
	N       int
	Href    string
	Path    string // the file's path on the line's side
	Threads []prThread
	Form    bool
}

// prFilesData is the files page: the current revision's diff, file by file, with its line
// comments; the comments of older revisions listed apart; the line the comment form is open
// under (?comment=PATH:SIDE:LINE).
type prFilesData struct {
	prFrame
	Files     []prFile
	Older     []prThread // on an older revision
	Truncated bool
	Path      string // the open comment form's line
	Side      string
	Line      int
}

// prFilesPage shows the patch from the merge base to the source as a table per file, with
// old and new line numbers and the current revision's line comments under their lines.
func (m *Module) prFilesPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.renderPRFiles(w, r, id, http.StatusOK, "", "")
}

func (m *Module) renderPRFiles(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, refused, body string) error {
	f, err := m.prCtx(r, id, "files")
	if err != nil {
		return err
	}
	f.Error, f.Body = refused, body
	ctx, cancel := m.core.HTTP.ReadContext(r)
	defer cancel()
	diff, err := m.review.Service().Diff(ctx, prNumber(f.PR.ID))
	if err != nil {
		return err
	}
	d := prFilesData{prFrame: f, Truncated: diff.Truncated}
	patch := diff.Patch
	if len(patch) > maxPatchShown { // shown up to the console's bound, cut at a line
		patch, d.Truncated = patch[:strings.LastIndexByte(patch[:maxPatchShown], '\n')+1], true
	}
	place := r.URL.Query().Get("comment")
	if r.Method == http.MethodPost && r.PostFormValue("path") != "" { // a refused line comment: its form again
		place = r.PostFormValue("path") + ":" + r.PostFormValue("side") + ":" + r.PostFormValue("line")
	}
	d.Path, d.Side, d.Line = commentPlace(place)
	threads, err := m.threads(r, f, "files")
	if err != nil {
		return err
	}
	d.Files, d.Older = placeThreads(f.PR.ID, parseDiff(patch), threads, f.PR.Revision.Number, d.Path, d.Side, d.Line)
	return m.render(w, status, "pr_files", frame(r, id.Token.User, "Files of #"+f.PR.ID, d))
}

// commentPlace reads ?comment=PATH:SIDE:LINE (a path may hold colons: the last two fields are
// the side and the line); anything else opens no form.
func commentPlace(s string) (string, string, int) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", "", 0
	}
	j := strings.LastIndexByte(s[:i], ':')
	if j <= 0 {
		return "", "", 0
	}
	n, err := strconv.Atoi(s[i+1:])
	side := s[j+1 : i]
	if err != nil || n < 1 || (side != review.SideSource && side != review.SideDestination) {
		return "", "", 0
	}
	return s[:j], side, n
}

// placeThreads puts each line thread of revision rev under its line in files; threads of
// older revisions, and of files the diff does not show, come back apart. The comment form
// opens under the line (path, side, line).
func placeThreads(prID string, files []diffFile, threads []prThread, rev int, path, side string, line int) ([]prFile, []prThread) {
	type key struct {
		path, side string
		line       int
	}
	on := map[key][]prThread{}
	var older []prThread
	for _, t := range threads {
		c := t.Root
		switch {
		case c.Path == "":
			continue // on the whole pull request: the conversation page shows it
		case c.Revision != rev:
			older = append(older, t)
		default:
			side := c.Side
			if side == "" {
				side = review.SideSource
			}
			k := key{c.Path, side, c.Line}
			on[k] = append(on[k], t)
		}
	}
	out := make([]prFile, 0, len(files))
	base := prURL(prID, "files")
	for i, df := range files {
		pf := prFile{diffFile: df, Anchor: "f" + strconv.Itoa(i), Lines: make([]prLine, 0, len(df.Rows))}
		paths := map[string]string{review.SideSource: df.Path(), review.SideDestination: df.Path()}
		if df.OldPath != "" {
			paths[review.SideDestination] = df.OldPath
		}
		// The comment links' beginnings, escaped once per file: ?comment=PATH:SIDE: (the line follows).
		hrefs := map[string]string{}
		for sd, p := range paths {
			hrefs[sd] = base + "?comment=" + url.QueryEscape(p+":"+sd+":")
		}
		for _, row := range df.Rows {
			l := prLine{diffRow: row}
			switch row.Kind {
			case "add", "ctx":
				l.Side, l.N = review.SideSource, row.New
			case "del":
				l.Side, l.N = review.SideDestination, row.Old
			}
			if l.Side != "" {
				p, n := paths[l.Side], strconv.Itoa(l.N)
				l.Path = p
				l.Anchor = pf.Anchor + "-" + l.Side[:1] + n
				l.Href = hrefs[l.Side] + n + "#" + l.Anchor
				k := key{p, l.Side, l.N}
				l.Threads = on[k]
				delete(on, k)
				if row.Kind == "ctx" { // an unchanged line is the same line on the destination's side
					dk := key{p, review.SideDestination, row.Old}
					l.Threads = append(l.Threads, on[dk]...)
					delete(on, dk)
				}
				l.Form = p == path && l.Side == side && l.N == line
			}
			pf.Lines = append(pf.Lines, l)
		}
		out = append(out, pf)
	}
	// Threads on lines the diff does not show go under their file, the rest with the older ones.
	fileOf := map[string]int{}
	for i, f := range out {
		fileOf[f.OldPath], fileOf[f.NewPath] = i, i
	}
	for _, t := range threads {
		c := t.Root
		side := c.Side
		if side == "" {
			side = review.SideSource
		}
		if _, left := on[key{c.Path, side, c.Line}]; !left || c.Path == "" || c.Revision != rev {
			continue
		}
		if i, ok := fileOf[c.Path]; ok {
			out[i].Elsewhere = append(out[i].Elsewhere, t)
		} else {
			older = append(older, t)
		}
	}
	return out, older
}
