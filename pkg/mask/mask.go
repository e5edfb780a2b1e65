// Package mask hides secret values in a stream of output: a build's log passes through a Writer
// that replaces every occurrence of any of the build's secret values with "***" before the bytes
// leave the machine that runs the build (the agent, or `slipway build local`). It lives in pkg/
// because the agent, which never links server code, is where build output is written.
//
// The rules, and why:
//   - An occurrence is masked even when a value is split across Write calls: the Writer holds
//     back the last len(longest value)-1 bytes it was given until it knows they do not begin a
//     value, and Close writes them (masked) at the end. Output is therefore late by at most that
//     many bytes, never reordered.
//   - Overlapping or adjacent occurrences (of one value or of several) are masked as their union,
//     and each run of masked bytes becomes a single "***": the output does not tell how long a
//     value is, nor where two values meet.
//   - Values shorter than MinLen (4) bytes are not masked. Masking "1", "no" or "dev" would
//     replace those letters all over the log, making it unreadable, and the stars would reveal
//     the value to anyone who sees "tr***" next to the "true" it hides. A secret that short is
//     not a secret; the build service should refuse or warn about it instead.
//   - A value of several lines is masked whole, and each of its lines of at least MinLen bytes
//     is masked on its own too (without its line ending), since a program that prints a key file
//     prints it line by line, maybe with a prefix.
//   - Only the values as given are masked: not their base64, hex, URL or JSON-escaped forms, nor
//     a value a program transforms (reverses, splits, prints character by character). Masking is
//     a guard against accidents, not against a build that means to reveal a secret: a build that
//     can read a secret can send it anywhere. Builds that print an encoded secret should register
//     the encoded form as a value of its own.
package mask

import (
	"bytes"
	"io"
)

// Mask is what replaces a masked run of bytes.
const Mask = "***"

// MinLen is the length under which a value is not masked (see the package comment).
const MinLen = 4

// Writer masks secret values in what is written through it, to an underlying writer. It is not
// safe for concurrent use; give each stream its own.
type Writer struct {
	w       io.Writer
	byFirst [256][][]byte // the values by their first byte
	longest int
	buf     []byte // bytes received, not yet written
	cover   int    // bytes of buf known to belong to an occurrence (from its start)
	masking bool   // the last thing written was Mask, and the run it hides may continue
	err     error  // the first error of the underlying writer
	out     []byte
}

// NewWriter returns a Writer that writes to w with every occurrence of values masked (values
// shorter than MinLen bytes are ignored, duplicates count once).
func NewWriter(w io.Writer, values ...[]byte) *Writer {
	m := &Writer{w: w}
	seen := map[string]bool{}
	add := func(v []byte) {
		if len(v) < MinLen || seen[string(v)] {
			return
		}
		seen[string(v)] = true
		v = bytes.Clone(v)
		m.byFirst[v[0]] = append(m.byFirst[v[0]], v)
		m.longest = max(m.longest, len(v))
	}
	for _, v := range values {
		add(v)
		if bytes.IndexByte(v, '\n') >= 0 {
			for _, line := range bytes.Split(v, []byte("\n")) {
				add(bytes.TrimSuffix(line, []byte("\r")))
			}
		}
	}
	return m
}

// Write masks p and writes what it can be sure of; it holds back at most len(longest value)-1
// bytes for the next Write or Close. It answers len(p) unless the underlying writer failed.
func (m *Writer) Write(p []byte) (int, error) {
	if m.err != nil {
		return 0, m.err
	}
	if m.longest == 0 {
		if _, err := m.w.Write(p); err != nil {
			m.err = err
			return 0, err
		}
		return len(p), nil
	}
	m.buf = append(m.buf, p...)
	if err := m.flush(len(m.buf) - (m.longest - 1)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close writes the bytes held back, masked. It does not close the underlying writer. Writing
// after Close is not allowed.
func (m *Writer) Close() error {
	if m.err != nil {
		return m.err
	}
	return m.flush(len(m.buf))
}

// Flush writes the bytes held back, masked as Close masks them, and goes on: for a point of the
// stream where no value can continue (a build's log between two phases, whose lines are whole),
// so that what was written before it is not delivered after what follows. A value split across
// a Flush is not masked: call it only at such points.
func (m *Writer) Flush() error {
	if m.err != nil {
		return m.err
	}
	return m.flush(len(m.buf))
}

// flush decides and writes the first n bytes of buf. Every occurrence that starts before n is
// whole in buf (n is at most len(buf)-(longest-1), or all of buf at the end of the stream), so a
// byte before n is masked exactly when an occurrence covers it.
func (m *Writer) flush(n int) error {
	if n <= 0 {
		return nil
	}
	out := m.out[:0]
	for i := 0; i < n; i++ {
		for _, v := range m.byFirst[m.buf[i]] {
			if i+len(v) > m.cover && bytes.HasPrefix(m.buf[i:], v) {
				m.cover = i + len(v)
			}
		}
		switch {
		case i >= m.cover:
			out = append(out, m.buf[i])
			m.masking = false
		case !m.masking:
			out = append(out, Mask...)
			m.masking = true
		}
	}
	m.buf = m.buf[:copy(m.buf, m.buf[n:])]
	m.cover = max(m.cover-n, 0)
	m.out = out
	if len(out) == 0 {
		return nil
	}
	if _, err := m.w.Write(out); err != nil {
		m.err = err
		return err
	}
	return nil
}
