package mask

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// write sends input through a Writer in the given chunk sizes (the rest in one last Write) and
// returns what reached the underlying writer after Close.
func write(t testing.TB, values []string, input string, chunks ...int) string {
	t.Helper()
	var out bytes.Buffer
	vs := make([][]byte, len(values))
	for i, v := range values {
		vs[i] = []byte(v)
	}
	m := NewWriter(&out, vs...)
	rest := []byte(input)
	for _, n := range chunks {
		n = min(n, len(rest))
		if k, err := m.Write(rest[:n]); err != nil || k != n {
			t.Fatalf("Write: %d, %v", k, err)
		}
		rest = rest[n:]
	}
	if _, err := m.Write(rest); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// reference masks input all at once, the slow obvious way: mark every byte any occurrence of any
// value covers, then write each run of marked bytes as one Mask.
func reference(values []string, input string) string {
	all := map[string]bool{}
	for _, v := range values {
		all[v] = true
		if strings.Contains(v, "\n") {
			for _, l := range strings.Split(v, "\n") {
				all[strings.TrimSuffix(l, "\r")] = true
			}
		}
	}
	covered := make([]bool, len(input))
	for v := range all {
		if len(v) < MinLen {
			continue
		}
		for i := 0; i+len(v) <= len(input); i++ {
			if input[i:i+len(v)] == v {
				for j := i; j < i+len(v); j++ {
					covered[j] = true
				}
			}
		}
	}
	var b strings.Builder
	for i := 0; i < len(input); i++ {
		switch {
		case !covered[i]:
			b.WriteByte(input[i])
		case i == 0 || !covered[i-1]:
			b.WriteString(Mask)
		}
	}
	return b.String()
}

func TestMask(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []string
		input  string
		chunks []int
		want   string
	}{
		{"no values", nil, "hello world", nil, "hello world"},
		{"one value", []string{"hunter2"}, "password=hunter2\n", nil, "password=***\n"},
		{"every occurrence", []string{"hunter2"}, "hunter2 hunter2hunter2", nil, "*** ***"},
		{"split across writes", []string{"s3cr3t-token"}, "token: s3cr3t-token done", []int{10, 1, 1, 3}, "token: *** done"},
		{"split byte by byte", []string{"s3cr3t"}, "a s3cr3t b", []int{1, 1, 1, 1, 1, 1, 1, 1, 1}, "a *** b"},
		{"value at the very end is flushed by Close", []string{"tail-secret"}, "x tail-secret", []int{5}, "x ***"},
		{"a prefix of a value at the end is written", []string{"tail-secret"}, "x tail-sec", nil, "x tail-sec"},
		{"shorter than MinLen is not masked", []string{"abc", "no"}, "abc no abcd", nil, "abc no abcd"},
		{"exactly MinLen is masked", []string{"abcd"}, "xabcdx", nil, "x***x"},
		{"overlapping values mask their union", []string{"abcdef", "defghi"}, "--abcdefghi--", nil, "--***--"},
		{"overlapping occurrences of one value", []string{"aaaa"}, "baaaaaab", nil, "b***b"},
		{"adjacent values are one run", []string{"first", "second"}, "firstsecond!", nil, "***!"},
		{"longest wins where one value contains another", []string{"pass", "password123"}, "password123 pass", []int{3}, "*** ***"},
		{"lines of a multi-line value", []string{"-----BEGIN KEY-----\r\nMIIEvQIBADANBg\r\n-----END KEY-----"},
			"key line: MIIEvQIBADANBg\n", []int{7}, "key line: ***\n"},
		{"a multi-line value whole", []string{"line one\nline two"}, "<line one\nline two>", nil, "<***>"},
		{"binary", []string{"\x00\xff\x00\xff"}, "a\x00\xff\x00\xffb", []int{2}, "a***b"},
		{"the mask text itself passes", []string{"secret"}, "***secret***", nil, "*********"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := write(t, tc.values, tc.input, tc.chunks...)
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if ref := reference(tc.values, tc.input); ref != tc.want {
				t.Fatalf("the reference says %q, the table %q", ref, tc.want)
			}
		})
	}
}

// TestHoldsBackLittle: the writer passes on everything but the last len(longest)-1 bytes at once,
// so a live log is late by at most that.
func TestHoldsBackLittle(t *testing.T) {
	var out bytes.Buffer
	m := NewWriter(&out, []byte("0123456789"))
	if _, err := m.Write([]byte("the build is running\n")); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "the build is" {
		t.Fatalf("after one Write: %q (all but the last 9 bytes expected)", got)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "the build is running\n" {
		t.Fatalf("after Close: %q", out.String())
	}
}

// TestFlushWritesWhatIsHeldAndGoesOn: Flush writes the held-back tail (masked) at once, and
// masking goes on after it.
func TestFlushWritesWhatIsHeldAndGoesOn(t *testing.T) {
	var out bytes.Buffer
	m := NewWriter(&out, []byte("0123456789"))
	_, _ = m.Write([]byte("phase one ends\n"))
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "phase one ends\n" {
		t.Fatalf("after Flush: %q", out.String())
	}
	_, _ = m.Write([]byte("key 01234"))
	_, _ = m.Write([]byte("56789 done\n"))
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "phase one ends\nkey *** done\n" {
		t.Fatalf("after Close: %q", out.String())
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestUnderlyingErrorSticks(t *testing.T) {
	m := NewWriter(failWriter{}, []byte("secret"))
	if _, err := m.Write([]byte("a long line of output")); err == nil {
		t.Fatal("Write hid the underlying error")
	}
	if _, err := m.Write([]byte("more")); err == nil {
		t.Fatal("a Write after a failure succeeded")
	}
	if err := m.Close(); err == nil {
		t.Fatal("Close hid the underlying error")
	}
}

// FuzzWriter: however the input is cut into writes, the output is the reference masking of the
// whole input, and no value (without '*', which the mask itself could form) is left in it.
func FuzzWriter(f *testing.F) {
	f.Add("hunter2", "pass", "user=admin password=hunter2 pass", uint64(3))
	f.Add("abcdef", "defghi", "--abcdefghi--abcdef", uint64(0x0102030405))
	f.Add("line one\nline two", "x", "line one\nline two and line two", uint64(7))
	f.Fuzz(func(t *testing.T, v1, v2, input string, cuts uint64) {
		if len(v1) > 64 || len(v2) > 64 || len(input) > 4096 {
			return
		}
		values := []string{v1, v2}
		var chunks []int
		for c := cuts; c != 0; c >>= 4 {
			chunks = append(chunks, int(c&0xf))
		}
		got := write(t, values, input, chunks...)
		if want := reference(values, input); got != want {
			t.Fatalf("values %q input %q chunks %v: got %q, want %q", values, input, chunks, got, want)
		}
		for _, v := range values {
			if len(v) >= MinLen && !strings.Contains(v, "*") && strings.Contains(got, v) {
				t.Fatalf("value %q is in the output %q", v, got)
			}
		}
	})
}

// BenchmarkWriter: log output (80-byte lines) through a Writer masking 20 values of 32 bytes,
// written 4 KiB at a time.
func BenchmarkWriter(b *testing.B) {
	var values [][]byte
	for i := range 20 {
		values = append(values, []byte(strings.Repeat(string(rune('a'+i)), 31)+"!"))
	}
	chunk := []byte(strings.Repeat("step 3/7: compiling module github.com/example/service/internal/x.go ok\n", 4096/72))
	b.SetBytes(int64(len(chunk)))
	m := NewWriter(io.Discard, values...)
	for b.Loop() {
		if _, err := m.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
}
