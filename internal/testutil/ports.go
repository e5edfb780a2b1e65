package testutil

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// FreePorts returns n distinct loopback ports free now. They are taken below the kernel's
// ephemeral range (Linux: net.ipv4.ip_local_port_range), where no outgoing connection is given
// its local port: a port from that range (what a listen on :0 returns) can be taken by another
// test's connection between this call and the server's listen, or while a killed server is down,
// and the server then cannot bind it for the rest of the test ("address already in use").
// Without room below the range, the ports come from listens on :0.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	ports := make([]int, 0, n)
	lo, hi := belowEphemeral()
	for tries := 0; len(ports) < n && hi > lo && tries < 20*n+1000; tries++ {
		p := lo + rand.IntN(hi-lo)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue // in use (another test holds it)
		}
		lns = append(lns, ln)
		ports = append(ports, p)
	}
	for len(ports) < n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// belowEphemeral returns the ports [lo, hi) between 10000 and the start of the ephemeral range,
// or an empty range when that start is unknown or too low.
func belowEphemeral() (lo, hi int) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0
	}
	start, err := strconv.Atoi(f[0])
	if err != nil || start < 12000 {
		return 0, 0
	}
	return 10000, start
}
