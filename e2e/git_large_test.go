//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// largeFileSize is the file TestGitLargeFileMemory pushes: large enough that a server holding
// the pack (or the file) in memory at any point would peak at more than largeRSSBound over its
// own size, small enough for a minute or two on a loaded 2-core machine. The servers stream
// the same way at any size (the pack goes from the request to git, from git's quarantine to the
// blob store and its peers, from a peer's blob to index-pack, from upload-pack to the
// response, through fixed-size buffers), so what bounds memory here bounds it for 1 GiB too:
// docs/BENCHMARKS.md has that figure (make bench-git-large).
const largeFileSize = 256 << 20

// largeRSSBound is the peak resident memory (VmHWM) a server may reach during the test: half
// the file. A server streams with about 30-60 MiB resident; one that buffered the pack would
// pass the file's size.
const largeRSSBound = largeFileSize / 2

// TestGitLargeFileMemory: a commit with a 256 MiB file of random bytes is pushed to one server
// of three real processes and cloned back, whole and identical, through another, and no
// server's peak resident memory (the receiving one's, the one catching up for the clone's, the
// third's that receives the pack blob) gets near the file's size: memory is bounded, whatever
// the size of what is pushed.
func TestGitLargeFileMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("pushes and clones a 256 MiB file")
	}
	c := startCluster(t, 3, clusterOptions{})
	eventually(t, 60*time.Second, "repo create", func() error {
		if r := runCLI(t, "", c.Env(0), "repo", "create", "big"); r.code != 0 {
			return fmt.Errorf("%s", r)
		}
		return nil
	})
	work := t.TempDir()
	src := filepath.Join(work, "src")
	mustGit(t, work, "init", "-q", "-b", "main", "src")
	writeRandomFile(t, filepath.Join(src, "big.bin"), largeFileSize)
	// Random bytes do not compress: storing them deflated at level 0 saves the client's CPU
	// and changes nothing on the servers' side.
	mustGit(t, src, "-c", "core.compression=0", "add", "big.bin")
	mustGit(t, src, "commit", "-q", "-m", "a large file")
	want := strings.TrimSpace(mustGit(t, src, "rev-parse", "HEAD:big.bin"))

	mustGit(t, src, "-c", "pack.compression=0", "push", "-q", remoteURL(c.nodes[0].URL(), c.token, "big"), "main")
	checkPeakRSS(t, c, "the push to server0")

	mustGit(t, work, "clone", "-q", "--bare", remoteURL(c.nodes[1].URL(), c.token, "big"), "clone.git")
	if got := strings.TrimSpace(mustGit(t, filepath.Join(work, "clone.git"), "rev-parse", "main:big.bin")); got != want {
		t.Fatalf("the clone through server1 has big.bin %s; pushed %s", got, want)
	}
	checkPeakRSS(t, c, "the clone through server1")
}

// checkPeakRSS fails the test if a running server's peak resident memory is over
// largeRSSBound, and logs each one.
func checkPeakRSS(t *testing.T, c *cluster, after string) {
	t.Helper()
	for _, i := range c.Running() {
		hwm, err := procStatusKiB(c.nodes[i].proc.cmd.Process.Pid, "VmHWM")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("after %s: server%d peak RSS %d MiB", after, i, hwm>>10)
		if hwm<<10 > largeRSSBound {
			t.Errorf("after %s: server%d's peak RSS is %d MiB, over the bound of %d MiB for a %d MiB file: something holds the pack in memory",
				after, i, hwm>>10, largeRSSBound>>20, largeFileSize>>20)
		}
	}
}

// procStatusKiB reads a "FIELD: N kB" line of /proc/PID/status.
func procStatusKiB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, rest, ok := strings.Cut(sc.Text(), ":"); ok && name == field {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s line", pid, field)
}

// writeRandomFile writes size incompressible bytes (a seeded ChaCha8 stream) to path.
func writeRandomFile(t *testing.T, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{1})
	buf := make([]byte, 1<<20)
	for n := int64(0); n < size; n += int64(len(buf)) {
		_, _ = rng.Read(buf)
		if _, err := f.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
