package api

import (
	"crypto/tls"
	"errors"
	"testing"
)

// TestSeveralAddresses: Address may list several servers, separated by commas; requests go to
// the first, and each one is checked as a single address would be.
func TestSeveralAddresses(t *testing.T) {
	c, err := NewClient(Config{Address: "10.0.0.1:7400, http://10.0.0.2:7400/ ,"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Address() != "http://10.0.0.1:7400" || len(c.addrs) != 2 || c.addrs[1].String() != "http://10.0.0.2:7400" {
		t.Fatalf("base %s, addresses %v", c.Address(), c.addrs)
	}
	if _, err := NewClient(Config{Address: "https://10.0.0.1:7400,http://10.0.0.2:7400", TLS: &tls.Config{}}); !errors.Is(err, ErrPlainHTTPWithTLS) {
		t.Errorf("a plain http:// second address with TLS: %v, want ErrPlainHTTPWithTLS", err)
	}
	if _, err := NewClient(Config{Address: "http://10.0.0.1:7400,ftp://x"}); err == nil {
		t.Error("an invalid second address was accepted")
	}
}
