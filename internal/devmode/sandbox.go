package devmode

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/devserver"
)

// SandboxPortFlag is the flag of `trailgate sandbox` that chooses the AWS
// sandbox's port (dev.sandbox_port), named in the error of a busy port.
const SandboxPortFlag = "port"

// StartSandbox starts the AWS sandbox of the embedded default alone, for
// trailgate on a Temporal cluster of the user's (`trailgate sandbox`): the
// sandbox on cfg.Dev.SandboxPort with cfg.Dev.Organizations organizations and
// its state in cfg.Dev.DataDir, and the effective configuration written to
// <data_dir>/trailgate.yaml, with cfg's Temporal settings and the demo's
// people, approvals and trail as the embedded default has them. It checks the
// port and creates the data directory before anything starts. Close stops
// the sandbox; Temporal is not touched, nor need it be reachable.
// network says where it listens and how others reach it.
func StartSandbox(ctx context.Context, cfg config.Config, network SandboxNetwork) (*Environment, error) {
	if network.Host == "" {
		network.Host = Host
	}
	dataDir, err := filepath.Abs(cfg.Dev.DataDir)
	if err != nil {
		return nil, fmt.Errorf("find data directory %s: %w", cfg.Dev.DataDir, err)
	}
	if err := devserver.CheckPorts(network.Host, sandboxPort(cfg, SandboxPortFlag)); err != nil {
		return nil, fmt.Errorf("start the AWS sandbox: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, &DataDirError{Dir: dataDir, Err: err}
	}

	env := &Environment{DataDir: dataDir, ConfigFile: filepath.Join(dataDir, ConfigFileName)}
	if env.AWS, err = awssandbox.StartDevServing(ctx, dataDir, joinHostPort(network.Host, cfg.Dev.SandboxPort), network.EndpointURL, cfg.Dev.Organizations); err != nil {
		return nil, fmt.Errorf("start the AWS sandbox: %w", err)
	}
	if env.Config, err = writeEffective(onSandbox(cfg, dataDir, env.AWS), env.ConfigFile); err != nil {
		_ = env.Close(ctx)
		return nil, fmt.Errorf("start the AWS sandbox: %w", err)
	}
	return env, nil
}

// SandboxNetwork is where a sandbox started alone listens, and the URL
// that trailgate and the AWS shared files reach it by.
type SandboxNetwork struct {
	// Host is the address it listens on; empty means Host, 127.0.0.1.
	Host string
	// EndpointURL is the URL written for clients; empty means
	// http://<Host>:<port>.
	EndpointURL string
}

// DataDirError reports a data directory that cannot be created.
type DataDirError struct {
	Dir string
	Err error
}

func (e *DataDirError) Error() string {
	return fmt.Sprintf("create data directory %s: %v; choose a directory you may write to", e.Dir, e.Err)
}

func (e *DataDirError) Unwrap() error { return e.Err }

// sandboxPort is the AWS sandbox's port of cfg, as CheckPorts reports it;
// flag names the command-line flag that chooses it, when not the key's own.
func sandboxPort(cfg config.Config, flag string) devserver.Port {
	return devserver.Port{Number: cfg.Dev.SandboxPort, Purpose: "AWS sandbox", Setting: "dev.sandbox_port", Flag: flag}
}

// startAWS starts the AWS sandbox on cfg's port with its organizations and
// its state in dataDir.
func startAWS(ctx context.Context, cfg config.Config, dataDir string) (*awssandbox.DevEnvironment, error) {
	return awssandbox.StartDevOf(ctx, dataDir, joinHostPort(Host, cfg.Dev.SandboxPort), cfg.Dev.Organizations)
}

func joinHostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
