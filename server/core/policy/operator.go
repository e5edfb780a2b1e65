package policy

import (
	"strings"
)

// opKind is the comparison a condition operator makes, before negation and IfExists.
type opKind uint8

const (
	opStringEquals opKind = iota
	opStringEqualsIgnoreCase
	opStringLike
	opBool
	opNumericEquals
	opNumericLessThan
	opNumericLessThanEquals
	opNumericGreaterThan
	opNumericGreaterThanEquals
	opDateLessThan
	opDateGreaterThan
	opIPAddress
	opNull
)

// operatorSpec is what an operator name means: the comparison, and whether the result is
// negated (StringNotEquals is "no value equals").
type operatorSpec struct {
	name   string
	kind   opKind
	negate bool
}

// operators are the condition operators Slipway evaluates. Each but Null also exists with the
// "IfExists" suffix.
var operators = []operatorSpec{
	{"StringEquals", opStringEquals, false},
	{"StringNotEquals", opStringEquals, true},
	{"StringEqualsIgnoreCase", opStringEqualsIgnoreCase, false},
	{"StringNotEqualsIgnoreCase", opStringEqualsIgnoreCase, true},
	{"StringLike", opStringLike, false},
	{"StringNotLike", opStringLike, true},
	{"Bool", opBool, false},
	{"NumericEquals", opNumericEquals, false},
	{"NumericNotEquals", opNumericEquals, true},
	{"NumericLessThan", opNumericLessThan, false},
	{"NumericLessThanEquals", opNumericLessThanEquals, false},
	{"NumericGreaterThan", opNumericGreaterThan, false},
	{"NumericGreaterThanEquals", opNumericGreaterThanEquals, false},
	{"DateLessThan", opDateLessThan, false},
	{"DateGreaterThan", opDateGreaterThan, false},
	{"IpAddress", opIPAddress, false},
	{"NotIpAddress", opIPAddress, true},
	{"Null", opNull, false},
}

// lookupOperator splits an operator name into its spec and the IfExists flag; ok is false for a
// name that is not an operator (names are case-sensitive, as AWS).
func lookupOperator(name string) (spec operatorSpec, ifExists, ok bool) {
	base, ifExists := strings.CutSuffix(name, "IfExists")
	for _, o := range operators {
		if o.name == base {
			if ifExists && o.kind == opNull {
				return o, false, false
			}
			return o, ifExists, true
		}
	}
	return operatorSpec{}, false, false
}

func operatorNames() []string {
	out := make([]string, 0, 2*len(operators))
	for _, o := range operators {
		out = append(out, o.name)
		if o.kind != opNull {
			out = append(out, o.name+"IfExists")
		}
	}
	return out
}

// Global condition keys: the request context the API edge fills in. Keys compare
// case-insensitively. A key with the "slipway:" prefix must be one of KnownKeys; a key with
// another service's prefix ("deploy:...") is that service's and is accepted as written.
const (
	KeyMultiFactorAuthPresent  = "slipway:MultiFactorAuthPresent"  // "true" or "false"
	KeyMultiFactorAuthAge      = "slipway:MultiFactorAuthAge"      // seconds since MFA, a number
	KeyMultiFactorAuthEnrolled = "slipway:MultiFactorAuthEnrolled" // "true" when the principal has an MFA device
	KeySourceIP                = "slipway:SourceIp"                // the caller's address
	KeyCurrentTime             = "slipway:CurrentTime"             // RFC 3339
	KeySecureTransport         = "slipway:SecureTransport"         // "true" over TLS
	KeyPrincipalName           = "slipway:PrincipalName"           // user, token or host name
	KeyPrincipalType           = "slipway:PrincipalType"           // "User", "Token", "Role", "Host"
	KeyReferenceName           = "slipway:ReferenceName"           // git ref, e.g. refs/heads/main
)

// KnownKeys lists the global "slipway:" condition keys a policy may name.
var KnownKeys = []string{
	KeyMultiFactorAuthPresent, KeyMultiFactorAuthAge, KeyMultiFactorAuthEnrolled, KeySourceIP, KeyCurrentTime,
	KeySecureTransport, KeyPrincipalName, KeyPrincipalType, KeyReferenceName,
}
