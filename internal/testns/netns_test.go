package testns

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestIsolateNetLoopbackAndHosts(t *testing.T) {
	_, inside := IsolateNet(t, "example.com", "coreos.com")
	if !inside {
		return
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if len(ifaces) != 1 || ifaces[0].Name != "lo" {
		t.Fatalf("interfaces = %v, want only lo", ifaces)
	}
	if ifaces[0].Flags&net.FlagUp == 0 {
		t.Error("lo is down")
	}

	addrs, err := net.DefaultResolver.LookupHost(context.Background(), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 1 || addrs[0] != "127.0.0.1" {
		t.Errorf("example.com resolves to %v, want [127.0.0.1]", addrs)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:443")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := net.DialTimeout("tcp", "coreos.com:443", time.Second)
	if err != nil {
		t.Fatalf("dial coreos.com:443: %v", err)
	}
	c.Close()

	// The main IPv4 routing table of the namespace is empty: only the local
	// table routes 127.0.0.0/8, so no other address is reachable.
	routes, err := os.ReadFile("/proc/net/route")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(routes)), "\n"); len(lines) != 1 {
		t.Errorf("/proc/net/route lists routes: %q", routes)
	}
	hosts, err := os.ReadFile("/etc/hosts")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(hosts), "127.0.0.1\tcoreos.com") {
		t.Errorf("/etc/hosts = %q", hosts)
	}
}
