//go:build unix

package lifecycle

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/slipwayhq/slipway/appspec"
	"github.com/slipwayhq/slipway/pkg/agentproto"
)

func TestFileExistsBehavior(t *testing.T) {
	for _, tc := range []struct {
		behavior string
		ok       bool
		content  string
	}{
		{"", false, "old"},
		{"OVERWRITE", true, "new"},
		{"RETAIN", true, "old"},
	} {
		t.Run("behavior="+tc.behavior, func(t *testing.T) {
			e := newEnv(t, Config{})
			if err := os.MkdirAll(e.dest, 0o755); err != nil {
				t.Fatal(err)
			}
			existing := filepath.Join(e.dest, "a.txt")
			if err := os.WriteFile(existing, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			spec := specYAML(e.dest, nil)
			if tc.behavior != "" {
				spec += "file_exists_behavior: " + tc.behavior + "\n"
			}
			rev := e.revision("r1", map[string]string{"appspec.yml": spec, "app/a.txt": "new", "app/b.txt": "b"})
			st := e.run(context.Background(), "d1", "g1", rev)
			if (st == agentproto.StatusSucceeded) != tc.ok {
				t.Fatalf("status = %s: %+v", st, e.rec.end(t, "d1"))
			}
			if b, _ := os.ReadFile(existing); string(b) != tc.content {
				t.Fatalf("a.txt = %q, want %q", b, tc.content)
			}
			if !tc.ok {
				ev, _ := e.rec.eventResult("d1", "Install")
				if !strings.Contains(ev.Message, existing) {
					t.Fatalf("Install = %+v; the message should name %s", ev, existing)
				}
				return
			}
			b, _ := os.ReadFile(filepath.Join(e.root, "deployment-instructions", "g1-cleanup"))
			paths, _ := appspec.ParseCleanup(b)
			if slices.Contains(paths, existing) != (tc.behavior == "OVERWRITE") {
				t.Fatalf("cleanup %q (behavior %s)", paths, tc.behavior)
			}
		})
	}
}

func TestPermissionsModeAndOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	e := newEnv(t, Config{})
	spec := specYAML(e.dest, nil) + "permissions:\n" +
		"  - object: " + e.dest + "\n    pattern: \"*.sh\"\n    mode: \"4750\"\n    owner: daemon\n    group: daemon\n    type: [file]\n" +
		"  - object: " + filepath.Join(e.dest, "conf") + "\n    mode: \"0640\"\n"
	rev := e.revision("r1", map[string]string{"appspec.yml": spec, "app/run.sh": "x", "app/conf/c.txt": "c"})
	if st := e.run(context.Background(), "d1", "g1", rev); st != agentproto.StatusSucceeded {
		t.Fatalf("status = %s: %+v", st, e.rec.end(t, "d1"))
	}
	fi, err := os.Stat(filepath.Join(e.dest, "run.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&(os.ModePerm|os.ModeSetuid) != 0o750|os.ModeSetuid {
		t.Fatalf("run.sh mode = %v", fi.Mode())
	}
	st := fi.Sys().(*syscall.Stat_t)
	u, _ := user.Lookup("daemon")
	if strconv.Itoa(int(st.Uid)) != u.Uid {
		t.Fatalf("run.sh uid = %d", st.Uid)
	}
	if fi, _ := os.Stat(filepath.Join(e.dest, "conf", "c.txt")); fi.Mode().Perm() != 0o640 {
		t.Fatalf("c.txt mode = %v", fi.Mode())
	}
}

// TestACLsNeedSetfacl: a permissions entry's acls are applied to the object with setfacl
// (read back with getfacl, from the same acl package); on a host without setfacl the Install
// fails with a message that says what to install. The entry names root, which any owner of
// the object may name in its ACL, so the test works as root and as another user.
func TestACLsNeedSetfacl(t *testing.T) {
	e := newEnv(t, Config{})
	spec := specYAML(e.dest, nil) + "permissions:\n  - object: " + e.dest + "\n    acls:\n      - \"u:root:rw\"\n"
	rev := e.revision("r1", map[string]string{"appspec.yml": spec, "app/a.txt": "a"})
	st := e.run(context.Background(), "d1", "g1", rev)
	if _, err := exec.LookPath("setfacl"); err == nil {
		if st != agentproto.StatusSucceeded {
			t.Fatalf("status = %s: %+v", st, e.rec.end(t, "d1"))
		}
		getfacl, err := exec.LookPath("getfacl")
		if err != nil {
			t.Fatal("setfacl is installed but getfacl is not; both come with the acl package")
		}
		// The entry applies to what the object's pattern (** by default) matches in it, not to
		// the folder itself.
		file := filepath.Join(e.dest, "a.txt")
		out, err := exec.Command(getfacl, "--omit-header", "--absolute-names", "--", file).CombinedOutput()
		if err != nil {
			t.Fatalf("getfacl %s: %v: %s", file, err, out)
		}
		if !slices.Contains(strings.Split(string(out), "\n"), "user:root:rw-") {
			t.Fatalf("the ACL of %s has no entry user:root:rw-:\n%s", file, out)
		}
		return
	}
	ev, _ := e.rec.eventResult("d1", "Install")
	if st != agentproto.StatusFailed || !strings.Contains(ev.Message, "setfacl, which is not installed") {
		t.Fatalf("status %s, Install = %+v", st, ev)
	}
}

func TestRunAs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("runas needs root")
	}
	useradd, err := exec.LookPath("useradd")
	if err != nil {
		t.Skip("useradd not installed")
	}
	name := "slipwaylc" + strconv.Itoa(os.Getpid()%100000)
	if out, err := exec.Command(useradd, "-M", "-d", "/home/"+name, "-s", "/bin/sh", name).CombinedOutput(); err != nil {
		t.Skipf("useradd: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("userdel", name).Run() })
	e := newEnv(t, Config{})
	// The runas user runs the script from the agent's folder, so it must be able to reach it.
	for d := e.root; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	rev := e.revision("r1", map[string]string{
		"appspec.yml":    "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: scripts/who.sh\n      runas: " + name + "\n",
		"scripts/who.sh": "#!/bin/sh\necho \"$(id -un) $HOME $LIFECYCLE_EVENT $(pwd)\"\n",
	})
	if st := e.run(context.Background(), "d1", "g1", rev); st != agentproto.StatusSucceeded {
		t.Fatalf("status = %s: %+v", st, e.rec.end(t, "d1"))
	}
	want := "AfterInstall stdout " + name + " /home/" + name + " AfterInstall " + filepath.Join(e.root, "g1", "d1", "deployment-archive")
	if !slices.Contains(e.rec.logTexts(), want) {
		t.Fatalf("logs = %q, want %q", e.rec.logTexts(), want)
	}
}
