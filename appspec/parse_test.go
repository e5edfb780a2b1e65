package appspec

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestEventsTable(t *testing.T) {
	want := "BeforeBlockTraffic BlockTraffic* AfterBlockTraffic ApplicationStop DownloadBundle* BeforeInstall Install* AfterInstall ApplicationStart ValidateService BeforeAllowTraffic AllowTraffic* AfterAllowTraffic"
	var got []string
	for _, e := range Events {
		n := e.Name
		if !e.TakesScripts {
			n += "*"
		}
		got = append(got, n)
	}
	if strings.Join(got, " ") != want {
		t.Fatalf("events = %s", strings.Join(got, " "))
	}
	for _, e := range Events {
		wantLast := e.Name == "ApplicationStop" || e.Name == "BeforeBlockTraffic" || e.Name == "AfterBlockTraffic"
		if e.FromLastSuccessful != wantLast {
			t.Errorf("%s FromLastSuccessful = %v", e.Name, e.FromLastSuccessful)
		}
	}
	if _, ok := LookupEvent("afterinstall"); ok {
		t.Error("event lookup must be case-sensitive")
	}
}

func TestParseValues(t *testing.T) {
	data, err := os.ReadFile("testdata/golden/valid_linux.yml")
	if err != nil {
		t.Fatal(err)
	}
	s, diags := Load("valid_linux.yml", data)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if s.OS != OSLinux || s.ExistsBehavior() != Overwrite || len(s.Files) != 2 || s.Files[1] != (FileMapping{"config/app.conf", "/etc/app"}) {
		t.Fatalf("spec = %+v", s)
	}
	p := s.Permissions[0]
	if p.Mode != "0755" || p.Owner != "app" || !reflect.DeepEqual(p.Except, []string{"*.log", "tmp"}) || len(p.ACLs) != 5 ||
		*p.Context != (Context{"system_u", "httpd_sys_content_t", "s0-s3:c0.c255,c300"}) || !reflect.DeepEqual(p.Type, []string{"directory"}) {
		t.Fatalf("permission[0] = %+v", p)
	}
	if s.Permissions[1].Mode != "4755" || s.Permissions[2].Pattern != "**" || !reflect.DeepEqual(s.Permissions[2].Type, []string{"file", "directory"}) {
		t.Fatalf("permission defaults = %+v", s.Permissions[1:])
	}
	if got := s.Scripts("AfterInstall"); !reflect.DeepEqual(got, []Script{{Location: "/scripts/install.sh", Timeout: 300, RunAs: "app", Sudo: true}}) {
		t.Fatalf("merged script = %+v", got)
	}
	if got := s.Scripts("ApplicationStop"); got[0].Timeout != 60 || got[0].RunAs != "" {
		t.Fatalf("stop = %+v", got)
	}
	if got := s.Scripts("ApplicationStart"); got[0].Timeout != 300 {
		t.Fatalf("start (merge after own keys) = %+v", got)
	}
	if got, ok := s.Hooks["BeforeInstall"]; !ok || len(got) != 0 {
		t.Fatalf("null hook list = %v, %v", got, ok)
	}
	if s.HookNames()[0] != "ApplicationStop" {
		t.Fatalf("hook order = %v", s.HookNames())
	}
	if pos := s.Positions["hooks.AfterInstall[0].location"]; pos != (Pos{45, 17}) {
		t.Fatalf("position = %+v", pos)
	}
}

func TestParseMergeKeyPriority(t *testing.T) {
	data, err := os.ReadFile("testdata/golden/merge_keys.yml")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := Load("m.yml", data)
	got := s.Scripts("AfterInstall")
	want := []Script{
		{Location: "scripts/a.sh", Timeout: 120, RunAs: "deploy", Sudo: true}, // first merged wins
		{Location: "scripts/b.sh", Timeout: 5, RunAs: "deploy"},               // own key wins
		{Location: "scripts/c.sh", Timeout: DefaultTimeout},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("scripts = %+v\nwant %+v", got, want)
	}
}

func TestParseHostileDocuments(t *testing.T) {
	cases := map[string]string{
		"self-merge":   "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - &a\n      location: x\n      <<: *a\n",
		"alias bomb":   "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\npermissions: [{object: /x, except: *d}]\n",
		"merge bomb":   "x0: &x0 {a: 1}\nx1: &x1 {<<: [*x0, *x0, *x0, *x0, *x0, *x0, *x0, *x0]}\nx2: &x2 {<<: [*x1, *x1, *x1, *x1, *x1, *x1, *x1, *x1]}\nx3: &x3 {<<: [*x2, *x2, *x2, *x2, *x2, *x2, *x2, *x2]}\nx4: &x4 {<<: [*x3, *x3, *x3, *x3, *x3, *x3, *x3, *x3]}\nx5: &x5 {<<: [*x4, *x4, *x4, *x4, *x4, *x4, *x4, *x4]}\nx6: &x6 {<<: [*x5, *x5, *x5, *x5, *x5, *x5, *x5, *x5]}\nhooks: {<<: *x6}\n",
		"deep nesting": strings.Repeat("[", 5000) + strings.Repeat("]", 5000),
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			s, diags := Load(name, []byte(doc))
			if s == nil {
				t.Fatal("nil spec")
			}
			_ = diags.String()
		})
	}
	// The merge bomb must be stopped by the budget, with a clear message.
	_, diags := Load("bomb", []byte(cases["merge bomb"]))
	if !strings.Contains(diags.String(), "too many nodes") {
		t.Fatalf("merge bomb not reported:\n%s", diags)
	}
}

func TestDiagnosticRendering(t *testing.T) {
	d := Diagnostic{File: "a/appspec.yml", Line: 3, Column: 5, Severity: SeverityError, Message: "bad"}
	if d.String() != "a/appspec.yml:3:5: bad" {
		t.Fatal(d.String())
	}
	d.Severity = SeverityWarning
	if d.String() != "a/appspec.yml:3:5: warning: bad" {
		t.Fatal(d.String())
	}
	d.Line = 0
	if d.String() != "a/appspec.yml: warning: bad" {
		t.Fatal(d.String())
	}
	if (Diagnostics{d}).HasErrors() || len((Diagnostics{d}).Errors()) != 0 {
		t.Fatal("a warning is not an error")
	}
}

func TestPaths(t *testing.T) {
	bundle := []struct {
		os, in, want string
		ok           bool
	}{
		{OSLinux, "/", "", true}, {OSLinux, ".", "", true}, {OSLinux, "", "", true},
		{OSLinux, "/scripts/a.sh", "scripts/a.sh", true}, {OSLinux, "a/./b/", "a/b", true},
		{OSLinux, "a/../b", "b", true}, {OSLinux, "../a", "", false}, {OSLinux, "a/../../b", "", false},
		{OSLinux, `a\b`, `a\b`, true}, {OSWindows, `\scripts\a.bat`, "scripts/a.bat", true},
		{OSWindows, `..\a`, "", false}, {OSWindows, `C:\a`, "", false}, {OSWindows, `\\srv\share`, "", false},
	}
	for _, c := range bundle {
		if got, ok := BundlePath(c.os, c.in); got != c.want || ok != c.ok {
			t.Errorf("BundlePath(%s, %q) = %q, %v; want %q, %v", c.os, c.in, got, ok, c.want, c.ok)
		}
	}
	hosts := []struct {
		os, in, want string
		ok           bool
	}{
		{OSLinux, "/opt/app/", "/opt/app", true}, {OSLinux, "/opt/../etc", "/etc", true}, {OSLinux, "opt", "", false},
		{OSWindows, `C:\inetpub\wwwroot`, `C:\inetpub\wwwroot`, true}, {OSWindows, "c:/a/b", `C:\a\b`, true},
		{OSWindows, `\\srv\share\dir`, `\\srv\share\dir`, true}, {OSWindows, `\\srv`, "", false},
		{OSWindows, "C:", "", false}, {OSWindows, "C:rel", "", false}, {OSWindows, `inetpub`, "", false}, {OSWindows, "/unix", "", false},
	}
	for _, c := range hosts {
		if got, ok := HostPath(c.os, c.in); got != c.want || ok != c.ok {
			t.Errorf("HostPath(%s, %q) = %q, %v; want %q, %v", c.os, c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]string{"644": "-rw-r--r--", "0755": "-rwxr-xr-x", "4755": "urwxr-xr-x", "1777": "trwxrwxrwx", "7": "-------rwx"} {
		m, err := ParseMode(in)
		if err != nil || m.String() != want {
			t.Errorf("ParseMode(%q) = %v, %v; want %s", in, m, err, want)
		}
	}
	for _, bad := range []string{"", "8", "12345", "rwx", "-1"} {
		if _, err := ParseMode(bad); err == nil {
			t.Errorf("ParseMode(%q) accepted", bad)
		}
	}
}

func TestParseACL(t *testing.T) {
	good := map[string]string{
		"u:bob:rwx": "user:bob:rwx", "bob:rw": "user:bob:rw-", "user:bob:7": "user:bob:rwx", "g:web:r-x": "group:web:r-x",
		"m::rw": "mask::rw-", "d:u::rwx": "default:user::rwx", "default:group:ops:5": "default:group:ops:r-x",
		"d:bob:r": "default:user:bob:r--", "d:o::r": "default:other::r--", "mask:r": "mask::r--",
	}
	for in, want := range good {
		e, err := ParseACL(in)
		if err != nil || e.String() != want {
			t.Errorf("ParseACL(%q) = %v, %v; want %s", in, e, err, want)
		}
	}
	for _, bad := range []string{"rwx", "u::rwx", "o::r", "g::r", "m:bob:r", "o:bob:r", "x:bob:r", "d:d:bob:r", "a:b:c:d:e", "u:bob:8", "u:bob:rwq"} {
		if _, err := ParseACL(bad); err == nil {
			t.Errorf("ParseACL(%q) accepted", bad)
		}
	}
}

func TestParseRange(t *testing.T) {
	good := map[string]SELinuxRange{
		"s0":          {0, 0, nil},
		"s0-s3":       {0, 3, nil},
		"s1:c0.c2,c9": {1, 1, []int{0, 1, 2, 9}},
		"s0:c1023":    {0, 0, []int{1023}},
	}
	for in, want := range good {
		r, err := ParseRange(in)
		if err != nil || !reflect.DeepEqual(r, want) {
			t.Errorf("ParseRange(%q) = %+v, %v; want %+v", in, r, err, want)
		}
	}
	for _, bad := range []string{"", "s", "x0", "s3-s1", "s0:", ":c1", "s0:c1024", "s0:c1,c1", "s0:c3.c1", "s0:c0.c5,c2", "s0-", "s0:c", "s99999999999999999999"} {
		if _, err := ParseRange(bad); err == nil {
			t.Errorf("ParseRange(%q) accepted", bad)
		}
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFindSpec(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  string // relative; "" means not found
	}{
		{"yaml before yml", map[string]string{"appspec.yml": "", "appspec.yaml": ""}, "appspec.yaml"},
		{"yml", map[string]string{"appspec.yml": ""}, "appspec.yml"},
		{"single top folder", map[string]string{"rev-1/appspec.yml": "", "rev-1/app/x": ""}, "rev-1/appspec.yml"},
		{"two top folders", map[string]string{"a/appspec.yml": "", "b/x": ""}, ""},
		{"folder and file", map[string]string{"a/appspec.yml": "", "README": ""}, ""},
		{"nothing", map[string]string{"x": ""}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, c.files)
			got, err := FindSpec(dir)
			if c.want == "" {
				if !errors.Is(err, ErrSpecNotFound) || !strings.Contains(err.Error(), filepath.Join(dir, "appspec.yaml")) {
					t.Fatalf("err = %v, want ErrSpecNotFound naming where it looked", err)
				}
				return
			}
			if err != nil || got != filepath.Join(dir, filepath.FromSlash(c.want)) {
				t.Fatalf("FindSpec = %q, %v; want %s", got, err, c.want)
			}
		})
	}
}

func TestValidateBundle(t *testing.T) {
	spec := linuxHead + `files:
  - source: app
    destination: /opt/app
  - source: missing
    destination: /opt/m
  - source: app/run.sh
    destination: /opt/app
hooks:
  AfterInstall:
    - location: scripts/install.sh
    - location: scripts/gone.sh
    - location: scripts
`
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"rev/appspec.yml": spec, "rev/app/run.sh": "", "rev/scripts/install.sh": ""})
	_, diags, err := ValidateBundle(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := diags.String()
	for _, want := range []string{
		`appspec.yml:6:13: source "missing" is not in the bundle`,
		`appspec.yml:13:17: script "scripts/gone.sh" is not in the bundle`,
		`appspec.yml:14:17: script "scripts" is a folder`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	// Once the missing pieces exist, the dry-run plan finds the overlap.
	writeFiles(t, dir, map[string]string{"rev/missing/x": "", "rev/scripts/gone.sh": ""})
	if err := os.Remove(filepath.Join(dir, "rev/scripts/install.sh")); err != nil {
		t.Fatal(err)
	}
	spec2 := strings.Replace(spec, "    - location: scripts\n", "", 1)
	spec2 = strings.Replace(spec2, "scripts/install.sh", "scripts/gone.sh", 1)
	writeFiles(t, dir, map[string]string{"rev/appspec.yml": spec2})
	_, diags, err = ValidateBundle(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(diags.String(), "appspec.yml:8:5: files[0] and files[2] both write /opt/app/run.sh") {
		t.Errorf("overlap not found:\n%s", diags)
	}
	if _, _, err := ValidateBundle(t.TempDir()); !errors.Is(err, ErrSpecNotFound) {
		t.Errorf("empty folder: err = %v", err)
	}
	if _, _, err := ValidateFile(filepath.Join(dir, "nope.yml")); err == nil {
		t.Error("ValidateFile of a missing file must fail")
	}
}

// TestScriptTimeout: each way of writing a script's timeout gives the seconds it stands for
// and the diagnostic it earns. A fraction below one second is refused (it would be cut to
// 0, a script without time), a larger one is cut to whole seconds with a warning, and a
// quoted whole number is accepted with a warning; null and a missing key mean the default.
func TestScriptTimeout(t *testing.T) {
	const refused = "timeout must be a whole number of seconds greater than 0, not "
	for _, tc := range []struct {
		value    string // YAML after "timeout: "; "" leaves the key out
		seconds  int
		severity Severity // of the one diagnostic; "" for none
		message  string   // what that diagnostic's message holds
	}{
		{value: "", seconds: DefaultTimeout},
		{value: "null", seconds: DefaultTimeout},
		{value: "~", seconds: DefaultTimeout},
		{value: "1", seconds: 1},
		{value: "120", seconds: 120},
		{value: `"120"`, seconds: 120, severity: SeverityWarning, message: `timeout is the string "120"; write it as a number: timeout: 120`},
		{value: "1.5", seconds: 1, severity: SeverityWarning, message: "timeout 1.5 is cut to 1 seconds (as CodeDeploy does); write a whole number: timeout: 1"},
		{value: "1.0", seconds: 1, severity: SeverityWarning, message: "timeout 1.0 is cut to 1 seconds"},
		{value: "0.5", seconds: DefaultTimeout, severity: SeverityError, message: refused + `"0.5"`},
		{value: "0.99", seconds: DefaultTimeout, severity: SeverityError, message: refused + `"0.99"`},
		{value: "0.0", seconds: DefaultTimeout, severity: SeverityError, message: refused + `"0.0"`},
		{value: "0", seconds: DefaultTimeout, severity: SeverityError, message: refused + `"0"`},
		{value: "-5", seconds: DefaultTimeout, severity: SeverityError, message: refused + `"-5"`},
		{value: "-0.5", seconds: DefaultTimeout, severity: SeverityError, message: refused + `"-0.5"`},
		{value: `"0.5"`, seconds: DefaultTimeout, severity: SeverityError, message: refused + `"0.5"`},
		{value: "forever", seconds: DefaultTimeout, severity: SeverityError, message: refused + `"forever"`},
	} {
		t.Run("timeout="+tc.value, func(t *testing.T) {
			doc := "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: scripts/run.sh\n"
			if tc.value != "" {
				doc += "      timeout: " + tc.value + "\n"
			}
			s, diags := Load("appspec.yml", []byte(doc))
			if got := s.Scripts("AfterInstall"); len(got) != 1 || got[0].Timeout != tc.seconds {
				t.Errorf("scripts = %+v, want one with timeout %d", got, tc.seconds)
			}
			if tc.severity == "" {
				if len(diags) != 0 {
					t.Fatalf("diagnostics:\n%s\nwant none", diags)
				}
				return
			}
			if len(diags) != 1 || diags[0].Severity != tc.severity || !strings.Contains(diags[0].Message, tc.message) ||
				diags[0].Field != "hooks.AfterInstall[0].timeout" || diags[0].Line != 6 {
				t.Fatalf("diagnostics:\n%s\nwant one %s on line 6 at hooks.AfterInstall[0].timeout holding %q", diags, tc.severity, tc.message)
			}
		})
	}
}
