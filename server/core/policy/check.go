package policy

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slipwayhq/slipway/pkg/suggest"
)

// check validates a decoded document's meaning: version, effects, the action and resource
// elements, patterns and condition values. Parse and Compile both run it.
func check(doc *Document, ds *diags) {
	switch doc.Version {
	case VersionAWS, VersionSlipway:
	case "":
		ds.add("Version", "missing: write Version: %q (or %q)", VersionAWS, VersionSlipway)
	default:
		ds.add("Version", "%q is not a policy language version: write %q (or %q)", clip(doc.Version), VersionAWS, VersionSlipway)
	}
	if len(doc.ID) > MaxNameLength {
		ds.add("Id", "%d bytes; an Id may be at most %d", len(doc.ID), MaxNameLength)
	}
	if len(doc.Statement) == 0 {
		ds.add("Statement", "the document has no statement; add at least one")
	}
	if len(doc.Statement) > MaxStatements {
		ds.add("Statement", "%d statements; a document may have at most %d: split it into several policies", len(doc.Statement), MaxStatements)
		return
	}
	sids := map[string]int{}
	for i := range doc.Statement {
		st := &doc.Statement[i]
		path := index("Statement", i)
		checkSid(st.Sid, path, i, sids, ds)
		switch st.Effect {
		case EffectAllow, EffectDeny:
		case "":
			ds.add(path+".Effect", "missing: write Effect: Allow or Effect: Deny")
		default:
			ds.add(path+".Effect", "%q is not Allow or Deny", clip(st.Effect))
		}
		checkPair(st.Action, st.NotAction, path, "Action", "NotAction", checkAction, ds)
		checkPair(st.Resource, st.NotResource, path, "Resource", "NotResource", checkResource, ds)
		if len(st.Condition) > MaxConditions {
			ds.add(path+".Condition", "%d condition entries; a statement may have at most %d", len(st.Condition), MaxConditions)
			continue
		}
		for j, c := range st.Condition {
			checkCondition(c, path+".Condition", ds)
			for _, earlier := range st.Condition[:j] {
				if earlier.Operator == c.Operator && strings.EqualFold(earlier.Key, c.Key) {
					ds.add(join(join(path+".Condition", clip(c.Operator)), clip(c.Key)), "the key appears twice under one operator; put all its values in one list")
					break
				}
			}
		}
	}
}

func checkSid(sid, path string, i int, seen map[string]int, ds *diags) {
	if sid == "" {
		return
	}
	p := path + ".Sid"
	if len(sid) > MaxNameLength {
		ds.add(p, "%d bytes; a Sid may be at most %d", len(sid), MaxNameLength)
		return
	}
	for _, r := range sid {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			ds.add(p, "%q: a Sid holds letters and digits only", clip(sid))
			return
		}
	}
	if j, dup := seen[sid]; dup {
		ds.add(p, "%q is also the Sid of Statement[%d]; Sids are unique within a document", sid, j)
		return
	}
	seen[sid] = i
}

// checkPair checks that exactly one of an element and its Not form is present and non-empty,
// and checks each pattern in it.
func checkPair(pos, neg []string, path, posName, negName string, each func(string) string, ds *diags) {
	switch {
	case pos != nil && neg != nil:
		ds.add(path, "has both %s and %s; keep one", posName, negName)
		return
	case pos == nil && neg == nil:
		ds.add(path, "missing %s (or %s)", posName, negName)
		return
	}
	name, list := posName, pos
	if neg != nil {
		name, list = negName, neg
	}
	p := path + "." + name
	if len(list) == 0 {
		ds.add(p, "the list is empty; name at least one")
	}
	if len(list) > MaxListValues {
		ds.add(p, "%d values; a list may hold at most %d", len(list), MaxListValues)
		return
	}
	for i, v := range list {
		if msg := each(v); msg != "" {
			ds.add(index(p, i), "%s", msg)
		}
	}
}

// checkAction accepts "*" or "service:Name" where both parts hold letters, digits, '-' (the
// service) and the wildcards '*' and '?'.
func checkAction(a string) string {
	if a == "*" {
		return ""
	}
	if len(a) > MaxNameLength {
		return fmt.Sprintf("%d bytes; an action may be at most %d", len(a), MaxNameLength)
	}
	service, name, ok := strings.Cut(a, ":")
	valid := ok && service != "" && name != ""
	for _, r := range service {
		valid = valid && (isAlnum(r) || r == '-' || r == '*' || r == '?')
	}
	for _, r := range name {
		valid = valid && (isAlnum(r) || r == '*' || r == '?')
	}
	if !valid {
		return fmt.Sprintf("%q is not an action: write service:Name (wildcards * and ? allowed), e.g. codedeploy:CreateDeployment, or *", clip(a))
	}
	return ""
}

func isAlnum(r rune) bool {
	return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
}

// checkResource accepts any non-empty UTF-8 text without control characters.
func checkResource(r string) string {
	if r == "" {
		return "empty; write a resource name or pattern, or * for every resource"
	}
	return checkText(r, "a resource")
}

func checkText(s, what string) string {
	if len(s) > MaxPatternLength {
		return fmt.Sprintf("%d bytes; %s may be at most %d", len(s), what, MaxPatternLength)
	}
	if !utf8.ValidString(s) {
		return what + " must be valid UTF-8"
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Sprintf("%q holds a control character", clip(s))
		}
	}
	return ""
}

func checkCondition(c Condition, path string, ds *diags) {
	opath := join(path, clip(c.Operator))
	spec, _, ok := lookupOperator(c.Operator)
	if !ok {
		msg := fmt.Sprintf("unknown condition operator %q", clip(c.Operator))
		if best, d := suggest.Closest(c.Operator, operatorNames()); d >= 0 && d <= 4 {
			msg += fmt.Sprintf("; did you mean %q?", best)
		}
		ds.add(opath, "%s", msg)
		return
	}
	kpath := join(opath, clip(c.Key))
	if msg := checkKey(c.Key); msg != "" {
		ds.add(kpath, "%s", msg)
		return
	}
	if len(c.Values) == 0 {
		ds.add(kpath, "no value; give one value or a list")
		return
	}
	if len(c.Values) > MaxListValues {
		ds.add(kpath, "%d values; a list may hold at most %d", len(c.Values), MaxListValues)
		return
	}
	for i, v := range c.Values {
		vpath := kpath
		if len(c.Values) > 1 {
			vpath = index(kpath, i)
		}
		if msg := checkText(v, "a condition value"); msg != "" {
			ds.add(vpath, "%s", msg)
			continue
		}
		if msg := checkValue(spec.kind, v); msg != "" {
			ds.add(vpath, "%s", msg)
		}
	}
}

func checkKey(k string) string {
	if len(k) > MaxNameLength {
		return fmt.Sprintf("%d bytes; a condition key may be at most %d", len(k), MaxNameLength)
	}
	prefix, name, ok := strings.Cut(k, ":")
	if !ok || prefix == "" || name == "" {
		return fmt.Sprintf("%q is not a condition key: write prefix:Name, e.g. %s", clip(k), KeySourceIP)
	}
	if strings.EqualFold(prefix, "slipway") {
		for _, known := range KnownKeys {
			if strings.EqualFold(known, k) {
				return ""
			}
		}
		msg := fmt.Sprintf("unknown global condition key %q", clip(k))
		if best, d := suggest.Closest(k, KnownKeys); d >= 0 && d <= 4 {
			return msg + fmt.Sprintf("; did you mean %q?", best)
		}
		return msg + "; the keys are " + listOf(KnownKeys)
	}
	return ""
}

// checkValue checks that a policy value has the type its operator compares.
func checkValue(kind opKind, v string) string {
	switch kind {
	case opBool:
		if _, ok := parseBool(v); !ok {
			return fmt.Sprintf("%q is not a boolean: write true or false", clip(v))
		}
	case opNull:
		if _, ok := parseBool(v); !ok {
			return fmt.Sprintf("%q: Null takes true (the key is absent) or false (it is present)", clip(v))
		}
	case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		if _, ok := parseNumber(v); !ok {
			return fmt.Sprintf("%q is not a number", clip(v))
		}
	case opDateLessThan, opDateGreaterThan:
		if _, ok := parseDate(v); !ok {
			return fmt.Sprintf("%q is not a date: write RFC 3339, e.g. 2026-12-31T23:59:59Z", clip(v))
		}
	case opIPAddress:
		if _, ok := parsePrefix(v); !ok {
			return fmt.Sprintf("%q is not an address or CIDR block, e.g. 10.0.0.0/8 or 2001:db8::/32", clip(v))
		}
	}
	return ""
}

// parseBool reads "true" or "false", any case.
func parseBool(s string) (bool, bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// parseNumber reads a finite decimal number.
func parseNumber(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// parseDate reads an RFC 3339 time.
func parseDate(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

// parsePrefix reads a CIDR block or a single address (a /32 or /128). IPv4-mapped IPv6
// addresses are unmapped so 10.0.0.1 and ::ffff:10.0.0.1 are one address.
func parsePrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// parseAddr reads a request's address (no CIDR), unmapping IPv4-in-IPv6.
func parseAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}
