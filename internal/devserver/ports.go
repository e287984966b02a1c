package devserver

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Port is a TCP port the embedded default needs: its number, what it is
// for, and the setting that chooses it, so that a busy port can be reported
// in words a user can act on.
type Port struct {
	Number int
	// Purpose says what listens there, e.g. "Temporal frontend".
	Purpose string
	// Setting is the configuration key that chooses the port, e.g.
	// "dev.temporal_port"; empty when there is none.
	Setting string
	// Flag is the command-line flag that chooses the port when it is not
	// named after Setting, e.g. "port"; empty otherwise.
	Flag string
}

// PortInUseError reports that a port the embedded default needs is taken.
type PortInUseError struct {
	Host string
	Port Port
	Err  error
}

func (e *PortInUseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "port %d on %s (%s) is already in use", e.Port.Number, e.Host, e.Port.Purpose)
	b.WriteString(": another trailgate-worker --dev, a Temporal dev server or a local AWS may be running there; stop it")
	if e.Port.Setting != "" {
		flag := e.Port.Flag
		if flag == "" {
			flag = strings.NewReplacer(".", "-", "_", "-").Replace(e.Port.Setting)
		}
		fmt.Fprintf(&b, ", or choose another port with %s (--%s or %s)", e.Port.Setting, flag,
			"TRAILGATE_"+strings.ToUpper(strings.ReplaceAll(e.Port.Setting, ".", "_")))
	}
	return b.String()
}

func (e *PortInUseError) Unwrap() error { return e.Err }

// AddressError reports a host that is none of this machine's addresses.
type AddressError struct {
	Host string
	Err  error
}

func (e *AddressError) Error() string {
	return fmt.Sprintf("%s is not an address of this machine, so nothing can listen there; give one it has, such as 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)", e.Host)
}

func (e *AddressError) Unwrap() error { return e.Err }

// CheckPorts tries to listen on every port on host and reports each one that
// is taken (or invalid), so that a busy port is a clear error before anything
// starts rather than a hang or a half-started server.
func CheckPorts(host string, ports ...Port) error {
	var errs []error
	for _, p := range ports {
		if p.Number <= 0 || p.Number > 65535 {
			errs = append(errs, fmt.Errorf("port %d (%s) is not a valid TCP port", p.Number, p.Purpose))
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p.Number)))
		if errors.Is(err, syscall.EADDRNOTAVAIL) {
			return &AddressError{Host: host, Err: err}
		}
		if err != nil {
			errs = append(errs, &PortInUseError{Host: host, Port: p, Err: err})
			continue
		}
		_ = l.Close()
	}
	return errors.Join(errs...)
}

// FreePort finds a TCP port that is free on host right now. Another
// process may take it before it is used; the embedded default only uses it
// for the Temporal server's internal services.
func FreePort(host string) (int, error) {
	// A port the kernel hands out for :0 comes from the ephemeral range,
	// where outgoing connections take theirs: between this check and the
	// server's bind, one may take it, and Temporal's services then fail to
	// listen. Ports below that range are tried first.
	for range 64 {
		port := freePortLow + rand.IntN(freePortHigh-freePortLow)
		if l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port))); err == nil {
			l.Close()
			return port, nil
		}
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreePorts finds n distinct TCP ports that are free on host right now,
// as FreePort does: for servers that each need a port of their own, such
// as a test's Temporal frontend and UI.
func FreePorts(host string, n int) ([]int, error) {
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries == 8*n {
			return nil, fmt.Errorf("find %d free ports on %s: found %v", n, host, ports)
		}
		port, err := FreePort(host)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(ports, port) {
			ports = append(ports, port)
		}
	}
	return ports, nil
}

// FreePort tries ports in [freePortLow, freePortHigh), below Linux's
// default ephemeral range (32768-60999).
const (
	freePortLow  = 20000
	freePortHigh = 32768
)
