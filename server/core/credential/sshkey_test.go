package credential

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// testdata/*.pub were made with OpenSSH 9.2 (ssh-keygen -t TYPE [-b BITS]; the certificate with
// ssh-keygen -s ca -I test -n alice ed25519.pub) and testdata/fingerprints.txt holds
// `ssh-keygen -lf` of each: "FILE BITS FINGERPRINT COMMENT (TYPE)".
type keygenLine struct {
	bits              int
	fingerprint, comm string
}

func readFingerprints(t *testing.T) map[string]keygenLine {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "fingerprints.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]keygenLine{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		bits, _ := strconv.Atoi(w[1])
		out[w[0]] = keygenLine{bits: bits, fingerprint: w[2], comm: w[3]}
	}
	return out
}

func readKey(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseAuthorizedKeyAcceptedTypes(t *testing.T) {
	fps := readFingerprints(t)
	for file, typ := range map[string]string{
		"ed25519.pub":  "ssh-ed25519",
		"ecdsa256.pub": "ecdsa-sha2-nistp256",
		"ecdsa384.pub": "ecdsa-sha2-nistp384",
		"ecdsa521.pub": "ecdsa-sha2-nistp521",
		"rsa2048.pub":  "ssh-rsa",
	} {
		t.Run(file, func(t *testing.T) {
			line := readKey(t, file)
			k, err := ParseAuthorizedKey(line)
			if err != nil {
				t.Fatal(err)
			}
			want := fps[file]
			if k.Type != typ || k.Bits != want.bits || k.Fingerprint != want.fingerprint || k.Comment != want.comm {
				t.Errorf("got %s %d %s %q; ssh-keygen -lf says %s %d %s %q", k.Type, k.Bits, k.Fingerprint, k.Comment, typ, want.bits, want.fingerprint, want.comm)
			}
			if k.AuthorizedKey() != strings.TrimSpace(line) {
				t.Errorf("AuthorizedKey() = %q, want the uploaded line %q", k.AuthorizedKey(), strings.TrimSpace(line))
			}
		})
	}
}

func TestParseAuthorizedKeyKnownFingerprint(t *testing.T) {
	// A fixed key and the fingerprint `ssh-keygen -lf` printed for it.
	const line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP3Tr8QdnQ5ZowmJlJi1vwhiq8WMlK10vlsqsPAghCR0 ed25519@example"
	if got := strings.TrimSpace(readKey(t, "ed25519.pub")); got != line {
		t.Fatalf("testdata/ed25519.pub changed: %q", got)
	}
	k, err := ParseAuthorizedKey("  # my laptop\n\n" + line + "\n\n")
	if err != nil {
		t.Fatal(err)
	}
	if k.Fingerprint != "SHA256:UIgrmnGMUs0hg/Nn1zAIdmLGAJxFjNeC1JzXfyWQXHw" {
		t.Errorf("fingerprint %s", k.Fingerprint)
	}
	noComment, err := ParseAuthorizedKey(strings.TrimSuffix(line, " ed25519@example"))
	if err != nil || noComment.Comment != "" || noComment.Fingerprint != k.Fingerprint {
		t.Errorf("without a comment: %+v, %v", noComment, err)
	}
}

func TestParseAuthorizedKeyRefused(t *testing.T) {
	ed := strings.TrimSpace(readKey(t, "ed25519.pub"))
	cases := []struct{ name, line, want string }{
		{"dsa", readKey(t, "dsa.pub"), "DSA keys are not accepted"},
		{"rsa1024", readKey(t, "rsa1024.pub"), "RSA key of 1024 bits"},
		{"certificate", readKey(t, "ed25519-cert.pub"), "SSH certificate"},
		{"options", `from="10.0.0.1",no-pty ` + ed, "options"},
		{"two keys", ed + "\n" + strings.TrimSpace(readKey(t, "ecdsa256.pub")), "more than one key"},
		{"empty", "", "not an authorized_keys line"},
		{"comments only", "# nothing\n\n", "not an authorized_keys line"},
		{"garbage", "ssh-ed25519 AAAA!!!", "not an authorized_keys line"},
		{"truncated", ed[:40], "not an authorized_keys line"},
		{"private key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----", "private key"},
		{"huge", ed + " " + strings.Repeat("x", MaxAuthorizedKeyLen), "at most"},
		{"long comment", ed + strings.Repeat("x", 300), "comment"},
		{"escape in comment", ed + "\x1b[2J", "comment"},
		{"sk key", "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIEX/dQ0v4127bEo8eeG1EV0ApO2lWbSnN6RWusDLDYhEAAAABHNzaDo= fido", "security-key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, err := ParseAuthorizedKey(c.line)
			if err == nil || !errors.Is(err, ErrSSHKey) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("ParseAuthorizedKey = %+v, %v; want an ErrSSHKey about %q", k, err, c.want)
			}
		})
	}
}

func FuzzParseAuthorizedKey(f *testing.F) {
	for _, name := range []string{"ed25519.pub", "ecdsa256.pub", "ecdsa521.pub", "rsa2048.pub", "rsa1024.pub", "dsa.pub", "ed25519-cert.pub"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add(`command="x" ssh-ed25519 AAAA`)
	f.Fuzz(func(t *testing.T, line string) {
		k, err := ParseAuthorizedKey(line)
		if err != nil {
			if !errors.Is(err, ErrSSHKey) {
				t.Fatalf("error %v does not wrap ErrSSHKey", err)
			}
			return
		}
		if !strings.HasPrefix(k.Fingerprint, "SHA256:") || (k.Type == "ssh-rsa" && k.Bits < MinRSABits) {
			t.Fatalf("accepted %+v", k)
		}
		// What is stored parses back to the same key.
		again, err := ParseAuthorizedKey(k.AuthorizedKey())
		if err != nil || again.Fingerprint != k.Fingerprint || again.Comment != k.Comment {
			t.Fatalf("round trip of %q: %+v, %v", k.AuthorizedKey(), again, err)
		}
	})
}
