package builder

import (
	"fmt"
	"os"
	"strings"

	"github.com/slipwayhq/slipway/builder/report"
	"github.com/slipwayhq/slipway/buildspec"
)

// Bounds on what one report group reads.
const (
	// MaxReportFiles is the most files one report group reads.
	MaxReportFiles = 1000
	// MaxReportBytes bounds the bytes of all the files of one report group.
	MaxReportBytes = 256 << 20
)

// coverageFormats are the code coverage formats of reports.*.file-format.
var coverageFormats = map[string]bool{"CLOVERXML": true, "COBERTURAXML": true, "JACOCOXML": true, "SIMPLECOV": true}

// CollectReports reads the report groups of a buildspec from the source tree
// at root, as CodeBuild does at the end of a build: each group's files (its
// globs, relative to its base-directory) are parsed in path order into one
// report. A group whose files match nothing, do not parse or are in a
// format not read yet gives an INCOMPLETE report saying why; a report never
// fails the build. Nothing outside root is read (the files are found as an
// artifact's are). logf receives a line per report.
func CollectReports(root string, groups []buildspec.Report, logf func(string, ...any)) []report.Report {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	out := make([]report.Report, 0, len(groups))
	for _, g := range groups {
		rep := collectReport(root, g, logf)
		logf("Report group %s (%s): %s", rep.Name, rep.Format, rep.Summary())
		out = append(out, *rep)
	}
	return out
}

func collectReport(root string, g buildspec.Report, logf func(string, ...any)) *report.Report {
	format := strings.ToUpper(g.FileFormat)
	if format == "" {
		format = report.FormatJUnit
	}
	rep := report.New(g.Group, format)
	switch {
	case coverageFormats[format]:
		rep.Incomplete(fmt.Sprintf("code coverage reports (%s) are not supported yet", format))
		return rep
	case !report.Supported(format):
		rep.Incomplete(fmt.Sprintf("%s test reports are not supported yet; %s and %s are", format, report.FormatJUnit, report.FormatCucumber))
		return rep
	}
	a := buildspec.Artifact{Files: g.Files, BaseDirectory: g.BaseDirectory, DiscardPaths: g.DiscardPaths}
	byRel, rels, err := match(root, a, logf)
	switch {
	case err != nil:
		rep.Incomplete(fmt.Sprintf("no report files: %v", err))
		return rep
	case len(rels) == 0:
		rep.Incomplete("no report files match " + strings.Join(g.Files, ", "))
		return rep
	case len(rels) > MaxReportFiles:
		logf("Report group %s: %d files match; the first %d are read", g.Group, len(rels), MaxReportFiles)
		rels = rels[:MaxReportFiles]
	}
	var total int64
	for _, rel := range rels {
		c := byRel[rel]
		if c.link != "" {
			continue
		}
		st, err := os.Stat(c.src)
		if err != nil {
			rep.Incomplete(fmt.Sprintf("%s: %v", rel, err))
			continue
		}
		if total += st.Size(); total > MaxReportBytes {
			rep.Incomplete(fmt.Sprintf("the report files are larger than %d MiB together; %s and the files after it are not read", MaxReportBytes>>20, rel))
			break
		}
		f, err := os.Open(c.src)
		if err != nil {
			rep.Incomplete(fmt.Sprintf("%s: %v", rel, err))
			continue
		}
		if err := rep.AddFile(rel, f); err != nil {
			logf("Report group %s: %s does not parse: %v", g.Group, rel, err)
		}
		_ = f.Close()
	}
	return rep
}
