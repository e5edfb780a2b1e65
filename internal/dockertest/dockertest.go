// Package dockertest gives tests a Docker engine and small images built on
// this host: no registry is needed. An image is a root filesystem the
// package assembles (a static busybox and its applets, a minimal /etc;
// optionally the host's bash and the libraries it loads) imported with
// `docker import`, tagged with the hash of its contents so an unchanged one
// is not imported again, and labelled LabelImage so it can be found and
// removed (docker image rm $(docker image ls -q --filter label=slipway-test.image)).
package dockertest

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// LabelImage labels the images this package imports.
const LabelImage = "slipway-test.image"

// Repository is the images' repository; their tags are content hashes.
const Repository = "slipway-test-build"

var (
	infoOnce sync.Once
	infoErr  error
)

// Require skips the test when the Docker engine is not usable (docker info
// fails), and fails it instead when CI=true: CI has an engine.
func Require(t testing.TB) {
	t.Helper()
	infoOnce.Do(func() {
		if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
			infoErr = fmt.Errorf("docker info: %w: %s", err, strings.TrimSpace(string(out)))
		}
	})
	if infoErr == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but the Docker engine is not usable: %v", infoErr)
	}
	t.Skipf("no usable Docker engine (%v): install Docker, or run in CI", infoErr)
}

var (
	imagesMu sync.Mutex
	images   = map[bool]string{}
)

// Image returns a busybox image without bash (its /bin/sh is ash).
func Image(t testing.TB) string { return image(t, false) }

// BashImage returns the busybox image with the host's bash as /bin/bash.
func BashImage(t testing.TB) string { return image(t, true) }

func image(t testing.TB, bash bool) string {
	t.Helper()
	Require(t)
	imagesMu.Lock()
	defer imagesMu.Unlock()
	if ref, ok := images[bash]; ok {
		return ref
	}
	ref, err := build(bash)
	if err != nil {
		t.Fatal(err)
	}
	images[bash] = ref
	return ref
}

// findBusybox returns a statically linked busybox (Debian's
// busybox-static).
func findBusybox() (string, error) {
	for _, p := range []string{os.Getenv("TESTBED_BUSYBOX"), "/bin/busybox", "/usr/bin/busybox"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if static(p) {
			return p, nil
		}
	}
	return "", errors.New("no static busybox found: apt-get install busybox-static (or set TESTBED_BUSYBOX)")
}

// static says whether bin is statically linked: ldd fails on it.
func static(bin string) bool {
	err := exec.Command("ldd", bin).Run()
	return err != nil
}

// libraries lists the shared libraries bin loads, as ldd finds them.
func libraries(bin string) ([]string, error) {
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", bin, err)
	}
	var libs []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			libs = append(libs, f[2])
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			libs = append(libs, f[0])
		}
	}
	return libs, nil
}

func build(bash bool) (string, error) {
	busybox, err := findBusybox()
	if err != nil {
		return "", err
	}
	applets, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return "", fmt.Errorf("%s --list: %w", busybox, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(0, 0)
	dirs := map[string]bool{}
	dir := func(name string, mode int64) error {
		dirs[name] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: mtime})
	}
	link := func(name, target string) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: mtime})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: mtime}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	hostFile := func(name, src string) error {
		data, err := os.ReadFile(src) // follows links: the file the loader finds
		if err != nil {
			return err
		}
		var parents []string
		for d := filepath.Dir(name); d != "." && !dirs[d]; d = filepath.Dir(d) {
			parents = append(parents, d)
		}
		for i := len(parents) - 1; i >= 0; i-- {
			if err := dir(parents[i], 0o755); err != nil {
				return err
			}
		}
		return file(name, 0o755, data)
	}
	steps := []func() error{
		func() error { return dir("bin", 0o755) },
		func() error { return dir("etc", 0o755) },
		func() error { return dir("root", 0o700) },
		func() error { return dir("tmp", 0o1777) },
		func() error { return dir("home", 0o755) },
		func() error { return dir("home/builder", 0o755) },
		func() error { return dir("usr", 0o755) },
		func() error { return link("usr/bin", "../bin") },
		func() error { return link("sbin", "bin") },
		func() error {
			return file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nbuilder:x:1000:1000:builder:/home/builder:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"))
		},
		func() error {
			return file("etc/group", 0o644, []byte("root:x:0:\nbuilder:x:1000:\nnogroup:x:65534:\n"))
		},
		func() error { return hostFile("bin/busybox", busybox) },
	}
	for _, a := range strings.Fields(string(applets)) {
		if a == "busybox" || strings.Contains(a, "/") {
			continue
		}
		steps = append(steps, func() error { return link("bin/"+a, "busybox") })
	}
	if bash {
		path, err := exec.LookPath("bash")
		if err != nil {
			return "", fmt.Errorf("the bash image needs bash on this host: %w", err)
		}
		libs, err := libraries(path)
		if err != nil {
			return "", err
		}
		steps = append(steps, func() error { return hostFile("bin/bash", path) })
		for _, l := range libs {
			steps = append(steps, func() error { return hostFile(strings.TrimPrefix(l, "/"), l) })
		}
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return "", fmt.Errorf("assemble the root filesystem: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	ref := Repository + ":" + hex.EncodeToString(sum[:6])
	if err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", ref).Run(); err == nil {
		return ref, nil
	}
	cmd := exec.Command("docker", "import",
		"--change", "LABEL "+LabelImage+"=1",
		"--change", "ENV PATH=/bin",
		"-", ref)
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("docker import: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return ref, nil
}
