package appspec

import (
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// fakeDest is a host file system made of paths: a trailing "/" marks a
// folder, "->target" a symlink, anything else a file.
type fakeDest map[string]string

type fakeInfo struct {
	name string
	mode fs.FileMode
}

func (i fakeInfo) Name() string       { return i.name }
func (i fakeInfo) Size() int64        { return 0 }
func (i fakeInfo) Mode() fs.FileMode  { return i.mode }
func (i fakeInfo) ModTime() time.Time { return time.Time{} }
func (i fakeInfo) IsDir() bool        { return i.mode.IsDir() }
func (i fakeInfo) Sys() any           { return nil }

func (d fakeDest) Lstat(p string) (fs.FileInfo, error) {
	switch v, ok := d[p]; {
	case !ok:
		return nil, &fs.PathError{Op: "lstat", Path: p, Err: fs.ErrNotExist}
	case v == "dir":
		return fakeInfo{p, fs.ModeDir | 0o755}, nil
	case strings.HasPrefix(v, "->"):
		return fakeInfo{p, fs.ModeSymlink | 0o777}, nil
	}
	return fakeInfo{p, 0o644}, nil
}

func (d fakeDest) Stat(p string) (fs.FileInfo, error) {
	if v := d[p]; strings.HasPrefix(v, "->") {
		return d.Stat(v[2:])
	}
	return d.Lstat(p)
}

// host is a typical Linux host: /, /opt and /etc exist.
func host(extra map[string]string) fakeDest {
	d := fakeDest{"/": "dir", "/opt": "dir", "/etc": "dir", "/var": "dir"}
	for k, v := range extra {
		d[k] = v
	}
	return d
}

// testBundle is a bundle with a nested folder, an executable and a symlink.
func testBundle() fstest.MapFS {
	return fstest.MapFS{
		"appspec.yml":        {Data: []byte("version: 0.0\n"), Mode: 0o644},
		"app":                {Mode: fs.ModeDir | 0o755},
		"app/run.sh":         {Data: []byte("#!/bin/sh\n"), Mode: 0o755},
		"app/conf":           {Mode: fs.ModeDir | 0o750},
		"app/conf/app.conf":  {Data: []byte("k=v\n"), Mode: 0o640},
		"app/current":        {Data: []byte("run.sh"), Mode: fs.ModeSymlink | 0o777},
		"config":             {Mode: fs.ModeDir | 0o755},
		"config/app.env":     {Data: []byte("A=1\n"), Mode: 0o600},
		"scripts":            {Mode: fs.ModeDir | 0o755},
		"scripts/install.sh": {Data: []byte("#!/bin/sh\n"), Mode: 0o755},
	}
}

// mustSpec loads a spec and fails on any error diagnostic.
func mustSpec(t *testing.T, yml string) *Spec {
	t.Helper()
	s, diags := Load("appspec.yml", []byte(yml))
	if diags.HasErrors() {
		t.Fatalf("spec has errors:\n%s", diags)
	}
	return s
}

const linuxHead = "version: 0.0\nos: linux\n"

func TestPlanFolderSource(t *testing.T) {
	s := mustSpec(t, linuxHead+"files:\n  - source: app\n    destination: /opt/svc/app\n")
	p, err := Plan(PlanInput{Spec: s, Bundle: testBundle(), Destination: host(nil)})
	if err != nil {
		t.Fatal(err)
	}
	wantMkdirs := []Mkdir{{"/opt/svc", 0o755}, {"/opt/svc/app", 0o755}, {"/opt/svc/app/conf", 0o750}}
	if !reflect.DeepEqual(p.Mkdirs, wantMkdirs) {
		t.Errorf("mkdirs = %v, want %v", p.Mkdirs, wantMkdirs)
	}
	wantCopies := []Copy{
		{Kind: CopyFile, Source: "app/conf/app.conf", Destination: "/opt/svc/app/conf/app.conf", Mode: 0o640, Field: "files[0]"},
		{Kind: CopySymlink, Source: "app/current", Destination: "/opt/svc/app/current", LinkTarget: "run.sh", Field: "files[0]"},
		{Kind: CopyFile, Source: "app/run.sh", Destination: "/opt/svc/app/run.sh", Mode: 0o755, Field: "files[0]"},
	}
	if !reflect.DeepEqual(p.Copies, wantCopies) {
		t.Errorf("copies = %+v\nwant %+v", p.Copies, wantCopies)
	}
	wantCleanup := []string{"/opt/svc", "/opt/svc/app", "/opt/svc/app/conf", "/opt/svc/app/conf/app.conf", "/opt/svc/app/current", "/opt/svc/app/run.sh"}
	if !reflect.DeepEqual(p.Cleanup, wantCleanup) {
		t.Errorf("cleanup = %v, want %v", p.Cleanup, wantCleanup)
	}
	if len(p.Remove) != 0 || len(p.Decisions) != 0 {
		t.Errorf("unexpected removals %v or decisions %v", p.Remove, p.Decisions)
	}
}

func TestPlanFileSourceAndExistingFolder(t *testing.T) {
	s := mustSpec(t, linuxHead+"files:\n  - source: config/app.env\n    destination: /etc\n")
	p, err := Plan(PlanInput{Spec: s, Bundle: testBundle(), Destination: host(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Mkdirs) != 0 {
		t.Errorf("no folder should be created, got %v", p.Mkdirs)
	}
	want := []Copy{{Kind: CopyFile, Source: "config/app.env", Destination: "/etc/app.env", Mode: 0o600, Field: "files[0]"}}
	if !reflect.DeepEqual(p.Copies, want) {
		t.Errorf("copies = %+v, want %+v", p.Copies, want)
	}
	if !reflect.DeepEqual(p.Cleanup, []string{"/etc/app.env"}) {
		t.Errorf("cleanup = %v", p.Cleanup)
	}
}

func TestPlanRootSource(t *testing.T) {
	for _, src := range []string{"/", ".", `""`} {
		t.Run(src, func(t *testing.T) {
			s := mustSpec(t, linuxHead+"files:\n  - source: "+src+"\n    destination: /opt/all\n")
			p, err := Plan(PlanInput{Spec: s, Bundle: testBundle(), Destination: host(nil)})
			if err != nil {
				t.Fatal(err)
			}
			var dests []string
			for _, c := range p.Copies {
				dests = append(dests, c.Destination)
			}
			want := []string{"/opt/all/app/conf/app.conf", "/opt/all/app/current", "/opt/all/app/run.sh", "/opt/all/appspec.yml", "/opt/all/config/app.env", "/opt/all/scripts/install.sh"}
			if !reflect.DeepEqual(dests, want) {
				t.Errorf("copies = %v, want %v (appspec included)", dests, want)
			}
			if p.Mkdirs[0].Path != "/opt/all" {
				t.Errorf("first mkdir = %v", p.Mkdirs[0])
			}
		})
	}
}

func TestPlanFileExistsBehavior(t *testing.T) {
	bundle := fstest.MapFS{"a.txt": {Data: []byte("new")}, "b.txt": {Data: []byte("new")}}
	existing := map[string]string{"/opt/x": "dir", "/opt/x/a.txt": "file", "/opt/x/b.txt": "file"}
	cases := []struct {
		behavior    string
		wantErr     error
		wantCopies  int
		wantCleanup []string
		wantAction  Action
	}{
		{"", ErrFileExists, 0, nil, ""},
		{"file_exists_behavior: DISALLOW\n", ErrFileExists, 0, nil, ""},
		{"file_exists_behavior: OVERWRITE\n", nil, 2, []string{"/opt/x/a.txt", "/opt/x/b.txt"}, ActionOverwrite},
		{"file_exists_behavior: RETAIN\n", nil, 0, []string{}, ActionRetain},
	}
	for _, c := range cases {
		t.Run(strings.TrimSpace(c.behavior), func(t *testing.T) {
			s := mustSpec(t, linuxHead+c.behavior+"files:\n  - source: /\n    destination: /opt/x\n")
			p, err := Plan(PlanInput{Spec: s, Bundle: bundle, Destination: host(existing)})
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) || !strings.Contains(err.Error(), "/opt/x/a.txt") || !strings.Contains(err.Error(), "/opt/x/b.txt") {
					t.Fatalf("err = %v, want %v naming both paths", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Copies) != c.wantCopies || !reflect.DeepEqual(p.Cleanup, c.wantCleanup) {
				t.Fatalf("copies %+v cleanup %v", p.Copies, p.Cleanup)
			}
			if len(p.Decisions) != 2 || p.Decisions[0].Action != c.wantAction || p.Decisions[0].Path != "/opt/x/a.txt" {
				t.Fatalf("decisions = %+v", p.Decisions)
			}
			for _, cp := range p.Copies {
				if !cp.Overwrite {
					t.Fatalf("copy %+v should be marked Overwrite", cp)
				}
			}
		})
	}
}

func TestPlanPreviousInstallIsRemovedFirst(t *testing.T) {
	// The previous install created /opt/x, /opt/x/a.txt and /opt/x/old.txt;
	// they are on the host. DISALLOW must not fire for them.
	existing := map[string]string{"/opt/x": "dir", "/opt/x/a.txt": "file", "/opt/x/old.txt": "file", "/opt/x/foreign.txt": "file"}
	prev := []string{"/opt/x", "/opt/x/a.txt", "/opt/x/old.txt"}
	bundle := fstest.MapFS{"a.txt": {Data: []byte("new")}}
	s := mustSpec(t, linuxHead+"files:\n  - source: /\n    destination: /opt/x\n")
	p, err := Plan(PlanInput{Spec: s, Bundle: bundle, Previous: prev, Destination: host(existing)})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/opt/x/old.txt", "/opt/x/a.txt", "/opt/x"}; !reflect.DeepEqual(p.Remove, want) {
		t.Errorf("remove = %v, want reverse order %v", p.Remove, want)
	}
	if want := []string{"/opt/x", "/opt/x/a.txt"}; !reflect.DeepEqual(p.Cleanup, want) {
		t.Errorf("cleanup = %v, want %v (folder re-recorded)", p.Cleanup, want)
	}
	if len(p.Decisions) != 0 {
		t.Errorf("decisions = %v, want none: previous files are not 'existing'", p.Decisions)
	}
	// A file the previous install did not create still counts.
	bundle["foreign.txt"] = &fstest.MapFile{Data: []byte("x")}
	if _, err := Plan(PlanInput{Spec: s, Bundle: bundle, Previous: prev, Destination: host(existing)}); !errors.Is(err, ErrFileExists) {
		t.Fatalf("err = %v, want ErrFileExists for foreign.txt", err)
	}
}

func TestPlanConflicts(t *testing.T) {
	cases := []struct {
		name, files string
		dest        map[string]string
		want        error
		wantText    string
	}{
		{"two sources same file", "  - source: config/app.env\n    destination: /etc\n  - source: config\n    destination: /etc/\n", nil, ErrConflict, "both write /etc/app.env"},
		{"file where folder goes", "  - source: app\n    destination: /opt/app\n", map[string]string{"/opt/app": "file"}, ErrConflict, "not a folder"},
		{"folder where file goes overwrite", "  - source: config/app.env\n    destination: /etc\n", map[string]string{"/etc/app.env": "dir"}, ErrFileExists, "/etc/app.env"},
		{"missing source", "  - source: nope\n    destination: /opt\n", nil, ErrSourceMissing, "nope"},
		{"ancestor is a file", "  - source: app\n    destination: /opt/f/app\n", map[string]string{"/opt/f": "file"}, ErrConflict, "/opt/f exists on the host and is not a folder"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := mustSpec(t, linuxHead+"files:\n"+c.files)
			_, err := Plan(PlanInput{Spec: s, Bundle: testBundle(), Destination: host(c.dest)})
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.wantText) {
				t.Fatalf("err = %v, want %v containing %q", err, c.want, c.wantText)
			}
		})
	}
}

func TestPlanSymlinkedDestinationFolder(t *testing.T) {
	// /srv/current -> /opt/releases/3: an existing folder reached via a link.
	s := mustSpec(t, linuxHead+"files:\n  - source: config\n    destination: /srv/current\n")
	d := host(map[string]string{"/srv": "dir", "/srv/current": "->/opt/releases/3", "/opt/releases": "dir", "/opt/releases/3": "dir"})
	p, err := Plan(PlanInput{Spec: s, Bundle: testBundle(), Destination: d})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Mkdirs) != 0 || len(p.Copies) != 1 || p.Copies[0].Destination != "/srv/current/app.env" {
		t.Fatalf("plan = %+v", p)
	}
}

func TestPlanWindows(t *testing.T) {
	s := mustSpec(t, "version: 0.0\nos: windows\nfiles:\n  - source: \\config\\app.env\n    destination: C:\\inetpub\\site\n")
	d := fakeDest{`C:\`: "dir", `C:\inetpub`: "dir"}
	p, err := Plan(PlanInput{Spec: s, Bundle: testBundle(), Destination: d})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Mkdir{{`C:\inetpub\site`, 0o755}}; !reflect.DeepEqual(p.Mkdirs, want) {
		t.Errorf("mkdirs = %v, want %v", p.Mkdirs, want)
	}
	if p.Copies[0].Destination != `C:\inetpub\site\app.env` || p.Copies[0].Source != "config/app.env" {
		t.Errorf("copy = %+v", p.Copies[0])
	}
}
