package devserver

import (
	"net"
	"sync/atomic"
	"testing"
)

// A port of the server's own services that another process takes between
// its choice and the server's bind used to leave the server half-started,
// and the process then panicked. The server is now started again on other
// ports.
func TestAPortTakenBeforeTheServerBindsItIsChosenAgain(t *testing.T) {
	taken := heldPort(t)
	var handed atomic.Int32
	internalPort = func(host string) (int, error) {
		// The first service of the first start gets the taken port.
		if handed.Add(1) == 2 {
			return taken, nil
		}
		return FreePort(host)
	}
	defer func() { internalPort = FreePort }()

	port, err := FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(t.Context(), Options{DataDir: t.TempDir(), FrontendPort: port, Namespace: "default"})
	if err != nil {
		t.Fatalf("the server did not start on other ports: %v", err)
	}
	defer func() { _ = s.Stop() }()
	if handed.Load() <= 6 {
		t.Errorf("%d ports were handed out: the server was not started again", handed.Load())
	}
}

// heldPort is a port another listener holds until the test ends.
func heldPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// The server's own services never take a port the options name, which is
// free but not yet bound while the server starts.
func TestTheServersOwnPortsAreNotThoseTheOptionsName(t *testing.T) {
	var handed atomic.Int32
	internalPort = func(host string) (int, error) {
		if handed.Add(1) <= 2 {
			return 4242, nil
		}
		return FreePort(host)
	}
	defer func() { internalPort = FreePort }()
	o := Options{Host: "127.0.0.1", FrontendPort: 7777, UIPort: 4242}
	port, err := o.ownPort()
	if err != nil || port == 4242 || port == 7777 || handed.Load() != 3 {
		t.Errorf("own port %d (%v) after %d choices; want neither 4242 nor 7777, chosen the third time", port, err, handed.Load())
	}
}
