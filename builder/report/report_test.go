package report

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// brief is what a test checks of a case: status, prefix, name, and words
// its message must have.
type brief struct {
	Prefix, Name, Status string
	DurationNS           int64
	Message              string // a part of the message; "" for none at all
	Output               string // a part of the output
}

func parseFile(t *testing.T, format, file string) (*Report, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := New("unit", format)
	return r, r.AddFile(file, f)
}

func TestParseSamples(t *testing.T) {
	tests := []struct {
		file, format string
		status       string
		counts       map[string]int
		cases        []brief
	}{
		{"surefire.xml", FormatJUnit, ReportFailed, map[string]int{Succeeded: 2, Failed: 1, Error: 1, Skipped: 1}, []brief{
			{"com.example.CalculatorTest", "adds", Succeeded, 12e6, "", ""},
			{"com.example.CalculatorTest", "divides", Failed, 3e6, "expected: <2> but was: <3>\norg.opentest4j", "dividing 6 by 3"},
			{"com.example.CalculatorTest", "parses", Error, 1e6, "null\njava.lang.NullPointerException", ""},
			{"com.example.CalculatorTest", "rounds", Skipped, 0, "not on this JDK", ""},
			{"com.example.CalculatorTest", "flaky", Succeeded, 1200e9, "", ""},
		}},
		{"pytest.xml", FormatJUnit, ReportFailed, map[string]int{Succeeded: 1, Failed: 1, Error: 1, Skipped: 1}, []brief{
			{"tests.test_api", "test_get", Succeeded, 1e6, "", ""},
			{"tests.test_api", "test_post", Failed, 2e6, "assert 500 == 201", ""},
			{"tests.test_api", "test_db", Error, 0, `failed on setup with "RuntimeError: no database"`, ""},
			{"tests.test_api", "test_windows", Skipped, 0, "windows only", ""},
		}},
		{"go-junit-report.xml", FormatJUnit, ReportFailed, map[string]int{Succeeded: 1, Failed: 1, Skipped: 1}, []brief{
			{"example.com/app/store", "TestPut", Succeeded, 1e6, "", ""},
			{"example.com/app/store", "TestGet/missing", Failed, 2e6, `Failed` + "\n" + `store_test.go:31: got "x", want ""`, ""},
			{"example.com/app/store", "TestSlow", Skipped, 0, "store_test.go:40: slow", ""},
		}},
		{"jest-nested.xml", FormatJUnit, ReportSucceeded, map[string]int{Succeeded: 2}, []brief{
			{"cart totals", "sums the lines", Succeeded, 4e6, "", ""},
			{"cart", "empties", Succeeded, 2e6, "", ""},
		}},
		{"latin1.xml", FormatJUnit, ReportSucceeded, map[string]int{Succeeded: 1}, []brief{
			{"café", "crème", Succeeded, 5e8, "", ""},
		}},
		{"cucumber-jvm.json", FormatCucumber, ReportFailed, map[string]int{Succeeded: 1, Failed: 1}, []brief{
			{"Cart", "Add an item", Succeeded, 6500000, "", ""},
			{"Cart", "Remove an item", Failed, 3000000, "When I remove the book failed: java.lang.AssertionError: expected 0 but was 1", ""},
		}},
		{"cucumber-js.json", FormatCucumber, ReportFailed, map[string]int{Error: 2, Skipped: 1}, []brief{
			{"features/search.feature", "Find a book", Error, 1600000, "When I search for Go undefined", ""},
			{"features/search.feature", "Later", Skipped, 0, "", ""},
			{"features/search.feature", "Ambiguous", Error, 0, "Given two matches ambiguous: Multiple step definitions match", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r, err := parseFile(t, tt.format, tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tt.status {
				t.Errorf("status = %s, want %s", r.Status, tt.status)
			}
			want := map[string]int{}
			for _, s := range CaseStatuses {
				want[s] = tt.counts[s]
			}
			if !reflect.DeepEqual(r.Counts, want) {
				t.Errorf("counts = %v, want %v", r.Counts, want)
			}
			if r.Total != len(tt.cases) || len(r.Cases) != len(tt.cases) {
				t.Fatalf("total %d, %d cases kept, want %d: %+v", r.Total, len(r.Cases), len(tt.cases), r.Cases)
			}
			var sum int64
			for i, w := range tt.cases {
				c := r.Cases[i]
				sum += c.DurationNS
				if c.Prefix != w.Prefix || c.Name != w.Name || c.Status != w.Status || c.DurationNS != w.DurationNS || c.File != tt.file {
					t.Errorf("case %d = %s %s %s %dns (%s), want %s %s %s %dns", i, c.Prefix, c.Name, c.Status, c.DurationNS, c.File, w.Prefix, w.Name, w.Status, w.DurationNS)
				}
				if (w.Message == "") != (c.Message == "") || !strings.Contains(c.Message, w.Message) {
					t.Errorf("case %s message = %q, want it to have %q", c.Name, c.Message, w.Message)
				}
				if !strings.Contains(c.Output, w.Output) {
					t.Errorf("case %s output = %q, want it to have %q", c.Name, c.Output, w.Output)
				}
			}
			if r.DurationNS != sum {
				t.Errorf("duration %d, want the sum %d", r.DurationNS, sum)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, format, data string
		want               error  // errors.Is, nil to check only the words
		words              string // in the message
	}{
		{"junit not xml", FormatJUnit, "hello", ErrNotReport, ""},
		{"junit empty", FormatJUnit, "", ErrNotReport, ""},
		{"junit other root", FormatJUnit, `<html><body/></html>`, ErrNotReport, "root element is <html>"},
		{"junit truncated", FormatJUnit, `<testsuite><testcase name="a">`, nil, "unexpected EOF"},
		{"junit unknown entity", FormatJUnit, `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><testsuite><testcase name="&e;"/></testsuite>`, nil, "invalid character entity &e;"},
		{"junit laughs", FormatJUnit, `<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><testsuite><testcase name="&b;"/></testsuite>`, nil, "invalid character entity &b;"},
		{"junit encoding", FormatJUnit, `<?xml version="1.0" encoding="EBCDIC"?><testsuite/>`, ErrNotReport, "EBCDIC"},
		{"junit too deep", FormatJUnit, strings.Repeat("<testsuite>", MaxDepth+1), ErrTooComplex, ""},
		{"cucumber object", FormatCucumber, `{"name": "x"}`, ErrNotReport, "array of features"},
		{"cucumber broken", FormatCucumber, `[{"elements": [`, nil, "unexpected EOF"},
		{"cucumber wrong kind", FormatCucumber, `[{"elements": "x"}]`, nil, "cannot unmarshal"},
		{"nunit", "NUNITXML", `<test-run/>`, ErrUnsupported, "not supported yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New("g", tt.format)
			err := r.AddFile("f", strings.NewReader(tt.data))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v (%T), want a *ParseError", err, err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.words) {
				t.Errorf("err = %v, want it to say %q", err, tt.words)
			}
			if r.Status != ReportIncomplete || !strings.HasPrefix(r.Message, "f: ") {
				t.Errorf("report %s %q, want INCOMPLETE with the file and the error", r.Status, r.Message)
			}
		})
	}
}

// TestBounds checks the file size bound, the cases kept (failures first)
// and the length of a message.
func TestBounds(t *testing.T) {
	t.Run("file size", func(t *testing.T) {
		fileSizeLimit = 64 << 10 // MaxFileSize, scaled down to keep the test fast
		defer func() { fileSizeLimit = MaxFileSize }()
		data := `<testsuite><testcase name="a"><system-out>` + strings.Repeat("x", int(fileSizeLimit)) + `</system-out></testcase></testsuite>`
		err := ParseJUnit(strings.NewReader(data), func(Case) {})
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
		err = ParseCucumber(strings.NewReader("["+strings.Repeat(" ", int(fileSizeLimit))+"]"), func(Case) {})
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("cucumber err = %v, want ErrTooLarge", err)
		}
	})
	t.Run("cases kept", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("<testsuite>")
		for i := 0; i < MaxCases+100; i++ {
			b.WriteString(`<testcase name="ok"/>`)
		}
		b.WriteString(`<testcase name="late"><failure message="boom"/></testcase></testsuite>`)
		r := New("g", FormatJUnit)
		if err := r.AddFile("f", strings.NewReader(b.String())); err != nil {
			t.Fatal(err)
		}
		if r.Total != MaxCases+101 || len(r.Cases) != MaxCases || !r.Truncated || r.Status != ReportFailed {
			t.Fatalf("total %d kept %d truncated %v status %s", r.Total, len(r.Cases), r.Truncated, r.Status)
		}
		if last := r.Cases[len(r.Cases)-1]; last.Name != "late" || last.Status != Failed {
			t.Fatalf("the failure was not kept: last case %+v", last)
		}
	})
	t.Run("message", func(t *testing.T) {
		data := `<testsuite><testcase name="a"><failure message="` + strings.Repeat("é", MaxMessage) + `"/></testcase></testsuite>`
		var got Case
		if err := ParseJUnit(strings.NewReader(data), func(c Case) { got = c }); err != nil {
			t.Fatal(err)
		}
		if len(got.Message) > MaxMessage || !strings.HasSuffix(got.Message, "(truncated)") {
			t.Fatalf("message of %d bytes ending %q", len(got.Message), got.Message[len(got.Message)-20:])
		}
	})
}

func TestSummary(t *testing.T) {
	r, err := parseFile(t, FormatJUnit, "pytest.xml")
	if err != nil {
		t.Fatal(err)
	}
	want := "FAILED 4 test cases (1 SUCCEEDED, 1 FAILED, 1 ERROR, 1 SKIPPED), 3ms"
	if got := r.Summary(); got != want {
		t.Fatalf("summary %q, want %q", got, want)
	}
}
