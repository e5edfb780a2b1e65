package console

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// samplePatch is what `git diff --no-renames` writes for a modified file with two hunks, an
// added file, a deleted one, a binary one, a mode change, a file without a final newline, a
// quoted path and a path with spaces.
const samplePatch = `diff --git a/app.go b/app.go
index 1111111..2222222 100644
--- a/app.go
+++ b/app.go
@@ -1,4 +1,4 @@
 package app
-// old
+// new
 
 func A() {}
@@ -10,2 +10,3 @@ func B() {
 	b := 1
+	c := 2
 	return
diff --git a/new.txt b/new.txt
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/new.txt
@@ -0,0 +1,2 @@
+one
+two
diff --git a/gone.txt b/gone.txt
deleted file mode 100644
index 4444444..0000000
--- a/gone.txt
+++ /dev/null
@@ -1 +0,0 @@
-bye
diff --git a/img.png b/img.png
index 5555555..6666666 100644
Binary files a/img.png and b/img.png differ
diff --git a/run.sh b/run.sh
old mode 100644
new mode 100755
diff --git a/tail.txt b/tail.txt
index 7777777..8888888 100644
--- a/tail.txt
+++ b/tail.txt
@@ -1 +1 @@
-x
\ No newline at end of file
+y
\ No newline at end of file
diff --git "a/t\303\251st\".txt" "b/t\303\251st\".txt"
index 9999999..aaaaaaa 100644
--- "a/t\303\251st\".txt"
+++ "b/t\303\251st\".txt"
@@ -1 +1 @@
-a
+b
diff --git a/my file b/x.txt b/my file b/x.txt
index bbbbbbb..ccccccc 100644
--- a/my file b/x.txt	
+++ b/my file b/x.txt	
@@ -1 +1 @@
-p
+q
`

func TestParseDiff(t *testing.T) {
	files := parseDiff(samplePatch)
	type head struct{ Old, New, Status, Mode string }
	var got []head
	for _, f := range files {
		got = append(got, head{f.OldPath, f.NewPath, f.Status, f.Mode})
	}
	want := []head{
		{"app.go", "app.go", "modified", ""},
		{"", "new.txt", "added", ""},
		{"gone.txt", "", "deleted", ""},
		{"img.png", "img.png", "modified", ""},
		{"run.sh", "run.sh", "modified", "100644 → 100755"},
		{"tail.txt", "tail.txt", "modified", ""},
		{`tést".txt`, `tést".txt`, "modified", ""},
		{"my file b/x.txt", "my file b/x.txt", "modified", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("files:\n got %q\nwant %q", got, want)
	}
	if !files[3].Binary || files[0].Binary {
		t.Errorf("binary: img.png %v, app.go %v", files[3].Binary, files[0].Binary)
	}
	rows := func(f diffFile) string {
		var b strings.Builder
		for _, r := range f.Rows {
			b.WriteString(r.Kind[:1])
			b.WriteString(" " + strconv.Itoa(r.Old) + " " + strconv.Itoa(r.New) + " " + r.Text + "\n")
		}
		return b.String()
	}
	if g, w := rows(files[0]), "h 0 0 @@ -1,4 +1,4 @@\nc 1 1 package app\nd 2 0 // old\na 0 2 // new\nc 3 3 \nc 4 4 func A() {}\n"+
		"h 0 0 @@ -10,2 +10,3 @@ func B() {\nc 10 10 \tb := 1\na 0 11 \tc := 2\nc 11 12 \treturn\n"; g != w {
		t.Errorf("app.go rows:\n%s\nwant\n%s", g, w)
	}
	if g, w := rows(files[1]), "h 0 0 @@ -0,0 +1,2 @@\na 0 1 one\na 0 2 two\n"; g != w {
		t.Errorf("new.txt rows:\n%s\nwant\n%s", g, w)
	}
	if g, w := rows(files[2]), "h 0 0 @@ -1 +0,0 @@\nd 1 0 bye\n"; g != w {
		t.Errorf("gone.txt rows:\n%s\nwant\n%s", g, w)
	}
	if g, w := rows(files[5]), "h 0 0 @@ -1 +1 @@\nd 1 0 x\nn 0 0 No newline at end of file\na 0 1 y\nn 0 0 No newline at end of file\n"; g != w {
		t.Errorf("tail.txt rows:\n%s\nwant\n%s", g, w)
	}
}

// TestParseDiffCutAndRenames: a patch cut inside a hunk keeps the lines it has; a rename's
// headers name both paths.
func TestParseDiffCutAndRenames(t *testing.T) {
	files := parseDiff("diff --git a/a b/a\n--- a/a\n+++ b/a\n@@ -1,9 +1,9 @@\n x\n-y\n+z")
	if len(files) != 1 || len(files[0].Rows) != 4 || files[0].Rows[3].Text != "z" || files[0].Rows[3].New != 2 {
		t.Fatalf("a cut patch: %+v", files)
	}
	files = parseDiff("diff --git a/old.txt b/new.txt\nsimilarity index 90%\nrename from old.txt\nrename to new.txt\n")
	if len(files) != 1 || files[0].Status != "renamed" || files[0].OldPath != "old.txt" || files[0].NewPath != "new.txt" {
		t.Fatalf("a rename: %+v", files)
	}
	if files := parseDiff("garbage\n@@ -1 +1 @@\n+x\n"); len(files) != 0 {
		t.Fatalf("lines before the first file: %+v", files)
	}
}

func TestCommentPlace(t *testing.T) {
	for in, want := range map[string][3]any{
		"a/b.go:source:12":      {"a/b.go", "source", 12},
		"c:d.txt:destination:3": {"c:d.txt", "destination", 3},
		"a.go:left:3":           {"", "", 0},
		"a.go:source:0":         {"", "", 0},
		"source:4":              {"", "", 0},
		"":                      {"", "", 0},
	} {
		p, s, l := commentPlace(in)
		if p != want[0] || s != want[1] || l != want[2] {
			t.Errorf("commentPlace(%q) = %q %q %d; want %v", in, p, s, l, want)
		}
	}
}

// FuzzParseDiff: any text parses without a panic, and every line number is from 1 on the
// side it is on.
func FuzzParseDiff(f *testing.F) {
	f.Add(samplePatch)
	f.Add("diff --git a/x b/x\n@@ -0,0 +0,0 @@\n+\n-\n \n\\\n")
	f.Fuzz(func(t *testing.T, patch string) {
		for _, file := range parseDiff(patch) {
			for _, r := range file.Rows {
				if (r.Kind == "add" && r.New < 1) || (r.Kind == "del" && r.Old < 1) || (r.Kind == "ctx" && (r.Old < 1 || r.New < 1)) {
					t.Fatalf("row %+v of %q", r, patch)
				}
			}
		}
	})
}

// bigPatch is a patch of files files, each a hunk of lines changed lines beside as many
// unchanged ones.
func bigPatch(files, lines int) string {
	var b strings.Builder
	for f := range files {
		p := "dir/file" + strconv.Itoa(f) + ".go"
		b.WriteString("diff --git a/" + p + " b/" + p + "\nindex 1111111..2222222 100644\n--- a/" + p + "\n+++ b/" + p + "\n")
		b.WriteString("@@ -1," + strconv.Itoa(2*lines) + " +1," + strconv.Itoa(2*lines) + " @@\n")
		for l := range lines {
			b.WriteString(" \tunchanged := " + strconv.Itoa(l) + "\n-\told := " + strconv.Itoa(l) + "\n+\tnew := " + strconv.Itoa(l) + "\n")
		}
	}
	return b.String()
}

// BenchmarkParseDiff parses and places comments on a patch of about 1 MiB (the most the files
// page shows): 100 files of 300 lines, 200 comments.
func BenchmarkParseDiff(b *testing.B) {
	patch := bigPatch(100, 100)
	var threads []prThread
	for i := range 200 {
		c := prComment{}
		c.Path, c.Line, c.Side, c.Revision = "dir/file"+strconv.Itoa(i%100)+".go", 1+i%150, "source", 1
		threads = append(threads, prThread{Root: c})
	}
	b.SetBytes(int64(len(patch)))
	for b.Loop() {
		files, _ := placeThreads("1", parseDiff(patch), threads, 1, "", "", 0)
		if len(files) != 100 {
			b.Fatalf("%d files", len(files))
		}
	}
}

// TestPlaceThreads: each thread of the current revision under its line (an unchanged line
// takes those on either side), one on a line the diff does not show under its file, and
// those of an older revision or of a file not in the diff apart; the form under its line.
func TestPlaceThreads(t *testing.T) {
	th := func(id, path, side string, line, rev int) prThread {
		c := prComment{}
		c.ID, c.Path, c.Side, c.Line, c.Revision = id, path, side, line, rev
		return prThread{Root: c}
	}
	threads := []prThread{
		th("1", "app.go", "source", 2, 1),        // the added line
		th("2", "app.go", "destination", 2, 1),   // the removed line
		th("3", "app.go", "destination", 3, 1),   // an unchanged line, by its old number
		th("4", "app.go", "source", 40, 1),       // not in the diff
		th("5", "app.go", "source", 2, 0),        // an older revision
		th("6", "other.go", "source", 1, 1),      // a file not in the diff
		th("7", "", "", 0, 1),                    // on the whole pull request
		th("8", "new.txt", "source", 1, 1),       // an added file
		th("9", "gone.txt", "destination", 1, 1), // a deleted file
	}
	files, older := placeThreads("7", parseDiff(samplePatch), threads, 1, "app.go", "destination", 2)
	on := map[string]string{}
	for _, f := range files {
		for _, l := range f.Lines {
			for _, t := range l.Threads {
				on[t.Root.ID] = l.Anchor
			}
			if l.Form {
				on["form"] = l.Anchor
			}
		}
		for _, t := range f.Elsewhere {
			on[t.Root.ID] = f.Anchor + " elsewhere"
		}
	}
	for _, t := range older {
		on[t.Root.ID] = "older"
	}
	want := map[string]string{"1": "f0-s2", "2": "f0-d2", "3": "f0-s3", "4": "f0 elsewhere", "5": "older", "6": "older", "8": "f1-s1", "9": "f2-d1", "form": "f0-d2"}
	if !reflect.DeepEqual(on, want) {
		t.Fatalf("placed:\n got %v\nwant %v", on, want)
	}
	if h := files[0].Lines[3].Href; h != "/ui/pulls/7/files?comment=app.go%3Asource%3A2#f0-s2" {
		t.Errorf("the added line's link: %s", h)
	}
}
