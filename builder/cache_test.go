package builder

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cacheBuild runs spec over src with the cache directory cache and returns
// the log; the build must succeed.
func cacheBuild(t *testing.T, spec, src, cache string) string {
	t.Helper()
	opts := options(t)
	opts.SourceDir = src
	opts.CacheDir = cache
	log := &syncBuffer{}
	opts.Log = log
	res, err := Run(context.Background(), load(t, spec), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusSucceeded {
		t.Fatalf("build %s\n%s", res.Status, log)
	}
	return log.String()
}

// TestCacheSecondRunFindsTheFirst checks that a second build of a tree finds
// the files its first build cached (restored before INSTALL, over the
// source's), and that paths outside the workspace are neither saved nor
// written.
func TestCacheSecondRunFindsTheFirst(t *testing.T) {
	src, cache := t.TempDir(), t.TempDir()
	outside := filepath.Join(t.TempDir(), "victim")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := `version: 0.2
phases:
  install:
    commands:
      - if [ -f deps/lib.txt ]; then echo "restored=$(cat deps/lib.txt)"; else echo "cold"; fi
      - cat deps/over.txt
  build:
    commands:
      - mkdir -p deps/nested && echo "built-$RANDOM" > deps/lib.txt && echo cached > deps/over.txt && echo n > deps/nested/n.txt
      - echo junk > not-cached.txt
cache:
  paths:
    - deps/**/*
    - ` + outside + `/**/*
    - ../../` + filepath.Base(outside) + `/**/*
    - ~/.m2/**/*
`
	if err := os.MkdirAll(filepath.Join(src, "deps"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "deps", "over.txt"), []byte("from-source\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	first := cacheBuild(t, spec, src, cache)
	out := commandOutput(first)
	if !strings.Contains(out, "cold") || !strings.Contains(out, "from-source") {
		t.Fatalf("first build saw a cache:\n%s", first)
	}
	for _, w := range []string{"is outside CODEBUILD_SRC_DIR: not cached", "leaves CODEBUILD_SRC_DIR: refused", "is in the home directory: not cached", "Cache saved"} {
		if !strings.Contains(first, w) {
			t.Errorf("first log lacks %q:\n%s", w, first)
		}
	}
	lib, err := os.ReadFile(filepath.Join(cache, "default", "files", "deps", "lib.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cache, "default", "files", "not-cached.txt")); err == nil {
		t.Error("a file outside the cache paths was saved")
	}
	second := cacheBuild(t, spec, src, cache)
	out = commandOutput(second)
	if !strings.Contains(out, "restored="+strings.TrimSpace(string(lib))) || !strings.Contains(out, "cached") || strings.Contains(out, "from-source") {
		t.Fatalf("second build did not find the first's cache over the source (want restored=%s):\n%s", lib, second)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("the cache wrote outside the workspace: %v", entries)
	}
	if b, _ := os.ReadFile(filepath.Join(src, "deps", "over.txt")); string(b) != "from-source\n" {
		t.Fatalf("the source directory was changed: %q", b)
	}
}

// TestCacheKeys checks keyed caches: a key's entry is not updated once
// saved, a fallback key restores the most recent entry it prefixes, and
// codebuild-hash-files makes the key follow a file.
func TestCacheKeys(t *testing.T) {
	src, cache := t.TempDir(), t.TempDir()
	lock := filepath.Join(src, "lock.txt")
	if err := os.WriteFile(lock, []byte("v1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := `version: 0.2
phases:
  install:
    commands:
      - cat deps/stamp.txt 2>/dev/null || echo none
  build:
    commands:
      - mkdir -p deps && echo "stamp-$(cat lock.txt)-$CODEBUILD_BUILD_ID" > deps/stamp.txt
cache:
  key: deps-$(codebuild-hash-files lock.txt)
  fallback-keys: [deps-]
  paths: [deps/**/*]
`
	first := cacheBuild(t, spec, src, cache)
	if !strings.Contains(commandOutput(first), "none") || !strings.Contains(first, `Cache saved (key "deps-`) {
		t.Fatalf("first:\n%s", first)
	}
	second := cacheBuild(t, spec, src, cache)
	if !strings.Contains(commandOutput(second), "stamp-v1-") || !strings.Contains(second, "is already saved: not saved again") {
		t.Fatalf("second:\n%s", second)
	}
	if err := os.WriteFile(lock, []byte("v2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	third := cacheBuild(t, spec, src, cache)
	if !strings.Contains(third, `Cache restored from fallback key "deps-`) || !strings.Contains(commandOutput(third), "stamp-v1-") {
		t.Fatalf("third (new key, fallback):\n%s", third)
	}
	entries, _ := filepath.Glob(filepath.Join(cache, "key-*"))
	if len(entries) != 2 {
		t.Fatalf("entries %v, want one per lock file", entries)
	}
}

// TestCacheActions checks action: restore (nothing saved) and save
// (nothing restored).
func TestCacheActions(t *testing.T) {
	src, cache := t.TempDir(), t.TempDir()
	spec := func(action string) string {
		return `version: 0.2
phases:
  build:
    commands:
      - cat deps/a.txt 2>/dev/null || echo none
      - mkdir -p deps && echo ` + action + ` > deps/a.txt
cache:
  action: ` + action + `
  paths: [deps/**/*]
`
	}
	cacheBuild(t, spec("restore"), src, cache)
	if _, err := os.Stat(filepath.Join(cache, "default")); err == nil {
		t.Fatal("action: restore saved the cache")
	}
	cacheBuild(t, spec("save"), src, cache)
	log := cacheBuild(t, spec("save"), src, cache)
	if !strings.Contains(commandOutput(log), "none") {
		t.Fatalf("action: save restored the cache:\n%s", log)
	}
	log = cacheBuild(t, spec("restore"), src, cache)
	if !strings.Contains(commandOutput(log), "save") {
		t.Fatalf("action: restore did not restore:\n%s", log)
	}
}

// TestRestoreFilesDoesNotFollowLinks checks that a restore never writes
// through a link of the workspace: a cached file whose directory is a link
// in the workspace is skipped, and a link where a cached file goes is
// replaced by the file, not written through.
func TestRestoreFilesDoesNotFollowLinks(t *testing.T) {
	from, to, victim := t.TempDir(), t.TempDir(), t.TempDir()
	for _, f := range []string{"linked/x.txt", "file.txt"} {
		p := filepath.Join(from, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("cache\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(victim, filepath.Join(to, "linked")); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(victim, "target.txt")
	if err := os.WriteFile(target, []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(to, "file.txt")); err != nil {
		t.Fatal(err)
	}
	n, err := restoreFiles(from, to, t.Logf)
	if err != nil || n != 1 {
		t.Fatalf("restored %d, %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(victim, "x.txt")); err == nil {
		t.Error("a file was written through a linked directory")
	}
	if b, _ := os.ReadFile(target); string(b) != "mine\n" {
		t.Errorf("a file was written through a link: %q", b)
	}
	if st, err := os.Lstat(filepath.Join(to, "file.txt")); err != nil || !st.Mode().IsRegular() {
		t.Errorf("file.txt is not a regular file now: %v", err)
	}
}

func TestCachePatterns(t *testing.T) {
	var logs []string
	logf := func(f string, a ...any) { logs = append(logs, f) }
	got := cachePatterns([]string{"node_modules/**/*", "/src/app/.gradle/caches/**/*", "/root/.m2/**/*", "../../etc", "a/../../x", "~/.cache/**/*", "./vendor", "."}, "/src/app", logf)
	want := []string{"node_modules/**/*", ".gradle/caches/**/*", "vendor"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("patterns %v, want %v", got, want)
	}
	if len(logs) != 5 {
		t.Fatalf("%d notes, want one per path not cached: %v", len(logs), logs)
	}
}
