package api

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// TLS failures a client meets, as TLSError.Reason says them. Each has its own fix.
const (
	// TLSUnknownAuthority: the server's certificate is not signed by a CA the client trusts.
	TLSUnknownAuthority = "unknown_authority"
	// TLSHostname: the certificate is not valid for the name or address the client dialled.
	TLSHostname = "hostname_mismatch"
	// TLSExpired: the certificate (or its CA) has expired or is not valid yet.
	TLSExpired = "expired"
	// TLSClientCertRequired: the server wants a client certificate and got none it accepts.
	TLSClientCertRequired = "client_certificate_refused"
	// TLSNotTLS: the address is https:// but the server does not speak TLS.
	TLSNotTLS = "not_tls"
	// TLSOther: any other handshake failure.
	TLSOther = "handshake_failed"
)

// TLSError is returned when the TLS handshake with a server fails: the client refused the
// server's certificate, or the server refused the client's. No request reached the server, so a
// write that failed with it was not applied, and it is never retried: the same certificates
// would meet the same refusal. Its message is one line naming the fix.
type TLSError struct {
	Addr   string // host:port dialled
	Reason string // one of the TLS* constants
	Err    error  // what crypto/tls or crypto/x509 said
}

func (e *TLSError) Error() string {
	switch e.Reason {
	case TLSUnknownAuthority:
		return fmt.Sprintf("refusing the server at %s: its certificate is not signed by a CA this client trusts; "+
			"give the cluster CA with --ca-file or SLIPWAY_CACERT (the ca.pem written by slipway tls ca create)", e.Addr)
	case TLSHostname:
		var he x509.HostnameError
		names := ""
		if errors.As(e.Err, &he) && he.Certificate != nil {
			names = " (it names " + certNames(he.Certificate) + ")"
		}
		return fmt.Sprintf("refusing the server at %s: its certificate is not valid for %q%s; "+
			"use an address the certificate names, or issue the server a certificate with --ip or --dns for it (slipway tls cert create --server)",
			e.Addr, hostOf(e.Addr), names)
	case TLSExpired:
		var ie x509.CertificateInvalidError
		when := ""
		if errors.As(e.Err, &ie) && ie.Cert != nil {
			when = fmt.Sprintf(" (valid from %s to %s)", ie.Cert.NotBefore.UTC().Format(time.RFC3339), ie.Cert.NotAfter.UTC().Format(time.RFC3339))
		}
		return fmt.Sprintf("refusing the server at %s: its certificate has expired or is not valid yet%s; "+
			"issue it a new one with slipway tls cert create --server, or check this machine's clock", e.Addr, when)
	case TLSClientCertRequired:
		return fmt.Sprintf("the server at %s refused this client's certificate (%v): it requires a client certificate of the cluster CA; "+
			"pass --client-cert and --client-key (or SLIPWAY_CLIENT_CERT and SLIPWAY_CLIENT_KEY) from slipway tls cert create --cli", e.Addr, e.Err)
	case TLSNotTLS:
		return fmt.Sprintf("the server at %s does not speak TLS: use an http:// address in --addr or SLIPWAY_ADDR, or turn TLS on at the server", e.Addr)
	}
	return fmt.Sprintf("TLS handshake with the server at %s failed: %v; check --ca-file (SLIPWAY_CACERT) and the server's certificate", e.Addr, e.Err)
}

func (e *TLSError) Unwrap() error { return e.Err }

// classifyTLS returns the TLSError err is, or nil when err is no TLS failure.
func classifyTLS(addr string, err error) *TLSError {
	if err == nil {
		return nil
	}
	var te *TLSError
	if errors.As(err, &te) {
		return te
	}
	var (
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ie  x509.CertificateInvalidError
		rhe tls.RecordHeaderError
		cve *tls.CertificateVerificationError
	)
	reason := ""
	switch {
	case errors.As(err, &ua):
		reason = TLSUnknownAuthority
	case errors.As(err, &he):
		reason = TLSHostname
	case errors.As(err, &ie):
		reason = TLSOther
		if ie.Reason == x509.Expired {
			reason = TLSExpired
		}
	case errors.As(err, &rhe):
		reason = TLSNotTLS
	case errors.As(err, &cve):
		reason = TLSOther
	default:
		// A refusal by the server arrives as an alert; crypto/tls does not export its type.
		msg := err.Error()
		switch {
		case strings.Contains(msg, "tls: certificate required"), strings.Contains(msg, "tls: bad certificate"),
			strings.Contains(msg, "tls: unknown certificate authority"), strings.Contains(msg, "tls: expired certificate"),
			strings.Contains(msg, "tls: unknown certificate"):
			reason = TLSClientCertRequired
		case strings.Contains(msg, "server gave HTTP response to HTTPS client"):
			reason = TLSNotTLS
		case strings.Contains(msg, "tls: "):
			reason = TLSOther
		}
	}
	if reason == "" {
		return nil
	}
	return &TLSError{Addr: addr, Reason: reason, Err: err}
}

// certNames lists the DNS names and addresses a certificate is valid for.
func certNames(c *x509.Certificate) string {
	var names []string
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return "no name"
	}
	return strings.Join(names, ", ")
}

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}
