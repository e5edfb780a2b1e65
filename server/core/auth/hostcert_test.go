package auth

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/pkg/tlsutil"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

func TestCheckHostCertificate(t *testing.T) {
	ca, err := tlsutil.NewCA("", 0)
	if err != nil {
		t.Fatal(err)
	}
	cert := func(kind tlsutil.Kind, name string) *x509.Certificate {
		p, _, err := ca.Issue(tlsutil.Request{Kind: kind, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		c, err := tlsutil.ParseCerts(p)
		if err != nil {
			t.Fatal(err)
		}
		return c[0]
	}
	verified := func(c *x509.Certificate) *tls.ConnectionState {
		return &tls.ConnectionState{PeerCertificates: []*x509.Certificate{c}, VerifiedChains: [][]*x509.Certificate{{c, ca.Cert}}}
	}
	h := &state.Host{ID: "id-a", Name: "a"}
	for _, tc := range []struct {
		name      string
		cs        *tls.ConnectionState
		allowNone bool
		want      string // "" allowed
	}{
		{"plain HTTP", nil, false, ""},
		{"own certificate", verified(cert(tlsutil.KindHost, "id-a")), false, ""},
		{"own certificate, renewal", verified(cert(tlsutil.KindHost, "id-a")), true, ""},
		{"no certificate", &tls.ConnectionState{}, false, "presented none"},
		{"no certificate, renewal", &tls.ConnectionState{}, true, ""},
		{"another host's", verified(cert(tlsutil.KindHost, "id-b")), false, "for host ID id-b, not id-a"},
		{"another host's, renewal", verified(cert(tlsutil.KindHost, "id-b")), true, "for host ID id-b, not id-a"},
		{"client certificate", verified(cert(tlsutil.KindClient, "c")), false, "not a host certificate"},
		{"unverified", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert(tlsutil.KindHost, "id-a")}}, true, "not verified"},
	} {
		err := CheckHostCertificate(h, tc.cs, tc.allowNone)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || fault.CodeOf(err) != fault.Forbidden):
			t.Errorf("%s: %v, want forbidden saying %q", tc.name, err, tc.want)
		}
	}
}
