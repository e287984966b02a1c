package devserver

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// A port of the server's own services that another process takes between
// its choice and the server's bind used to leave the server half-started,
// and the process then panicked. The server is now started again on other
// ports.
func TestAPortTakenBeforeTheServerBindsItIsChosenAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal's server")
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	var handed atomic.Int32
	internalPort = func(host string) (int, error) {
		// The first service of the first start gets the taken port.
		if handed.Add(1) == 2 {
			return taken.Addr().(*net.TCPAddr).Port, nil
		}
		return FreePort(host)
	}
	defer func() { internalPort = FreePort }()

	port, err := FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{
		DataDir: t.TempDir(), FrontendPort: port, Namespace: "default",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("the server did not start on other ports: %v", err)
	}
	defer func() { _ = s.Stop() }()
	if handed.Load() <= 6 {
		t.Errorf("%d ports were handed out: the server was not started again", handed.Load())
	}
}
