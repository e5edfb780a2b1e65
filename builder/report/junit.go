package report

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// ParseJUnit reads a JUnit XML file and calls add for each test case, in
// file order. It reads the dialects test tools write: a <testsuites> or a
// <testsuite> root, suites nested in suites (Jest, Ant), Maven Surefire's
// (flakyFailure and rerunFailure elements are retries of a case whose final
// status is its own), pytest's, go-junit-report's, JUnit 5's. A case is
// FAILED with a <failure>, ERROR with an <error>, SKIPPED with <skipped>
// (or a Surefire-style status="skipped"), else SUCCEEDED. Its message is the
// failure's message attribute, then its text; its output the case's
// <system-out> and <system-err>.
//
// encoding/xml expands no entity but the five predefined ones and character
// references (a DOCTYPE is read as one directive and ignored), and tokens
// and nesting are bounded, so a file cannot make the parser grow beyond its
// own size. Errors are *ParseError.
func ParseJUnit(r io.Reader, add func(Case)) error {
	lr := &limitedReader{r: r}
	d := xml.NewDecoder(bufio.NewReader(lr))
	d.CharsetReader = charsetReader
	p := junitParser{d: d, add: add}
	if err := p.parse(); err != nil {
		if errors.Is(lr.err(), ErrTooLarge) {
			err = ErrTooLarge
		}
		return &ParseError{Format: FormatJUnit, Offset: d.InputOffset(), Err: err}
	}
	return nil
}

func (l *limitedReader) err() error {
	if l.n > fileSizeLimit {
		return ErrTooLarge
	}
	return nil
}

type junitParser struct {
	d      *xml.Decoder
	add    func(Case)
	tokens int
	depth  int
	suites []string // names of the enclosing suites
}

func (p *junitParser) next() (xml.Token, error) {
	p.tokens++
	if p.tokens > MaxTokens {
		return nil, ErrTooComplex
	}
	tok, err := p.d.Token()
	if err != nil {
		return nil, err
	}
	switch tok.(type) {
	case xml.StartElement:
		p.depth++
		if p.depth > MaxDepth {
			return nil, ErrTooComplex
		}
	case xml.EndElement:
		p.depth--
	}
	return tok, nil
}

func (p *junitParser) parse() error {
	for {
		tok, err := p.next()
		if errors.Is(err, io.EOF) {
			return ErrNotReport
		}
		if err != nil {
			return err
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "testsuites":
				if err := p.container(); err != nil {
					return err
				}
			case "testsuite":
				if err := p.suite(se); err != nil {
					return err
				}
			default:
				return fmt.Errorf("%w: the root element is <%s>, not <testsuites> or <testsuite>", ErrNotReport, se.Name.Local)
			}
			return p.rest()
		}
	}
}

// rest reads to the end of the document, so that a truncated or malformed
// file is an error.
func (p *junitParser) rest() error {
	for {
		if _, err := p.next(); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// container reads the children of <testsuites> (or of a suite) up to its
// end element: suites are read, anything else skipped.
func (p *junitParser) container() error {
	for {
		tok, err := p.next()
		if err != nil {
			return unexpectedEOF(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "testsuite":
				err = p.suite(t)
			case "testcase":
				err = p.testcase(t)
			default:
				err = p.skip()
			}
			if err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

func (p *junitParser) suite(se xml.StartElement) error {
	p.suites = append(p.suites, attr(se, "name"))
	defer func() { p.suites = p.suites[:len(p.suites)-1] }()
	return p.container()
}

// skip reads to the end of the element just started.
func (p *junitParser) skip() error {
	for depth := 1; depth > 0; {
		tok, err := p.next()
		if err != nil {
			return unexpectedEOF(err)
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return nil
}

// text reads the character data of the element just started up to its
// end, keeping at most max bytes (nested elements' text included).
func (p *junitParser) text(max int) (string, error) {
	var b strings.Builder
	for depth := 1; depth > 0; {
		tok, err := p.next()
		if err != nil {
			return "", unexpectedEOF(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if room := max + 1 - b.Len(); room > 0 {
				if len(t) > room {
					t = t[:room]
				}
				b.Write(t)
			}
		}
	}
	return b.String(), nil
}

// rank orders the statuses a case's children give it: the worst wins.
var rank = map[string]int{Succeeded: 0, Skipped: 1, Failed: 2, Error: 3}

func (p *junitParser) testcase(se xml.StartElement) error {
	c := Case{Name: clip(attr(se, "name"), MaxName), Status: Succeeded}
	suite := ""
	if n := len(p.suites); n > 0 {
		suite = p.suites[n-1]
	}
	c.Suite = clip(suite, MaxName)
	c.Prefix = attr(se, "classname")
	if c.Prefix == "" {
		c.Prefix = suite
	}
	c.Prefix = clip(c.Prefix, MaxName)
	c.DurationNS = seconds(attr(se, "time"))
	switch strings.ToLower(attr(se, "status")) {
	case "skipped", "disabled", "notrun":
		c.Status = Skipped
	}
	var message, output strings.Builder
	for {
		tok, err := p.next()
		if err != nil {
			return unexpectedEOF(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			c.Message = clip(strings.TrimSpace(message.String()), MaxMessage)
			c.Output = clip(strings.TrimSpace(output.String()), MaxOutput)
			p.add(c)
			return nil
		case xml.StartElement:
			status := ""
			switch t.Name.Local {
			case "failure":
				status = Failed
			case "error":
				status = Error
			case "skipped":
				status = Skipped
			case "system-out", "system-err":
				s, err := p.text(MaxOutput)
				if err != nil {
					return err
				}
				appendBounded(&output, s, MaxOutput)
				continue
			default: // properties, flakyFailure, rerunFailure, ...
				if err := p.skip(); err != nil {
					return err
				}
				continue
			}
			body, err := p.text(MaxMessage)
			if err != nil {
				return err
			}
			if rank[status] < rank[c.Status] {
				continue
			}
			if rank[status] > rank[c.Status] {
				message.Reset()
			}
			c.Status = status
			appendBounded(&message, attr(t, "message"), MaxMessage)
			if body = strings.TrimSpace(body); body != "" && body != attr(t, "message") {
				appendBounded(&message, body, MaxMessage)
			}
		}
	}
}

func appendBounded(b *strings.Builder, s string, max int) {
	s = strings.TrimSpace(s)
	if s == "" || b.Len() > max {
		return
	}
	if b.Len() > 0 {
		b.WriteByte('\n')
	}
	if room := max + 1 - b.Len(); len(s) > room {
		s = s[:room]
	}
	b.WriteString(s)
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// seconds reads a time attribute ("0.25", Surefire's "1,234.5") as
// nanoseconds; what does not read is 0.
func seconds(s string) int64 {
	f, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(s), ",", ""), 64)
	if err != nil || math.IsNaN(f) || f <= 0 {
		return 0
	}
	const maxSeconds = 1 << 32 // far beyond any test, far from overflowing
	if f > maxSeconds {
		f = maxSeconds
	}
	return int64(f * 1e9)
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// charsetReader reads the single-byte encodings report files are declared
// in besides UTF-8 (ISO-8859-1 and its relatives, ASCII); others are an
// error.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "utf-8", "utf8":
		return in, nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "us-ascii", "ascii", "windows-1252", "cp1252":
		return &latin1Reader{r: bufio.NewReader(in)}, nil
	}
	return nil, fmt.Errorf("%w: encoding %q is not read; write the report in UTF-8", ErrNotReport, label)
}

// latin1Reader turns ISO-8859-1 bytes into UTF-8.
type latin1Reader struct {
	r    *bufio.Reader
	pend []byte
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(l.pend) > 0 {
			c := copy(p[n:], l.pend)
			l.pend = l.pend[c:]
			n += c
			continue
		}
		b, err := l.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if b < 0x80 {
			p[n] = b
			n++
			continue
		}
		l.pend = []byte(string(rune(b)))
	}
	return n, nil
}
