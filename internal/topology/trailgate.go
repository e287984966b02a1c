package topology

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/cli"
	"github.com/trailgate/trailgate/internal/devserver"
	"github.com/trailgate/trailgate/internal/gobuild"
)

// Binaries are the programs of the topology, built from this module: the
// trailgate worker and CLI, and Temporal's server and SQL tool at the
// version go.mod requires (its tool directive names them).
type Binaries struct {
	TemporalServer, SQLTool, Worker, CLI string
}

// Packages that build each binary.
const (
	temporalServerPackage = "go.temporal.io/server/cmd/server"
	sqlToolPackage        = "go.temporal.io/server/cmd/tools/sql"
)

// TemporalModule is the module Temporal's server is built from, at the
// version go.mod requires: the embedded default's, this topology's and
// docker-compose.yml's.
const TemporalModule = "go.temporal.io/server"

// Build builds the topology's programs into dir.
func Build(dir string) (Binaries, error) {
	b := Binaries{
		TemporalServer: filepath.Join(dir, "temporal-server"),
		SQLTool:        filepath.Join(dir, "temporal-sql-tool"),
		Worker:         filepath.Join(dir, "trailgate-worker"),
		CLI:            filepath.Join(dir, "trailgate"),
	}
	return b, gobuild.Build(map[string]string{
		b.TemporalServer: temporalServerPackage,
		b.SQLTool:        sqlToolPackage,
		b.Worker:         "./worker",
		b.CLI:            "./starter",
	})
}

// Sandbox is the AWS sandbox on its own: bin/trailgate sandbox.
type Sandbox struct {
	*Process
	// Ready is what the sandbox printed once it served.
	Ready cli.SandboxReady
}

// StartSandbox runs `trailgate sandbox` with n organizations on a data
// directory in dir, its trailgate.yaml pointed at the Temporal frontend
// temporalAddress, and returns once it serves.
func StartSandbox(ctx context.Context, bins Binaries, dir string, n int, temporalAddress string) (*Sandbox, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bins.CLI, append(SandboxArgs(filepath.Join(dir, "sandbox"), port, n, temporalAddress), "--json")...)
	p, err := startProcess("AWS sandbox", filepath.Join(dir, "sandbox.log"), cmd)
	if err != nil {
		return nil, err
	}
	s := &Sandbox{Process: p}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		if ready, ok := readyLine(p.Log); ok {
			if err := json.Unmarshal([]byte(ready), &s.Ready); err != nil {
				s.Close()
				return nil, fmt.Errorf("trailgate sandbox --json printed %q: %w", ready, err)
			}
			return s, nil
		}
		select {
		case <-p.Exited():
			return nil, p.exitedEarly("it to serve")
		case <-ctx.Done():
			s.Close()
			return nil, fmt.Errorf("the AWS sandbox did not say it served within a minute; the end of %s:\n%s", p.Log, p.Tail(10))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// SandboxArgs are the arguments of bin/trailgate that serve the AWS
// sandbox here, as docker-compose.yml's sandbox service does.
func SandboxArgs(dataDir string, port, organizations int, temporalAddress string) []string {
	return []string{"sandbox",
		"--data-dir=" + dataDir,
		"--port=" + strconv.Itoa(port),
		"--organizations=" + strconv.Itoa(organizations),
		"--temporal-address=" + temporalAddress,
	}
}

// readyLine is the first line of the file that holds a JSON object.
func readyLine(file string) (string, bool) {
	f, err := os.Open(file)
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "{") && strings.HasSuffix(line, "}") {
			return line, true
		}
	}
	return "", false
}

// Close stops the sandbox.
func (s *Sandbox) Close() { _ = s.Stop(syscall.SIGTERM, 20*time.Second) }

// WorkerEnvironment is how a worker of this topology is configured: the
// TRAILGATE_* variables docker-compose.yml gives its worker, and the
// sandbox's trailgate.yaml (TRAILGATE_CONFIG) for the organizations, people
// and AWS sandbox that a real deployment would name itself.
func WorkerEnvironment(temporalAddress, configFile, proofKeyFile, metricsAddress string) map[string]string {
	d := config.Default()
	return map[string]string{
		"TRAILGATE_CONFIG":                  configFile,
		"TRAILGATE_TEMPORAL_ADDRESS":        temporalAddress,
		"TRAILGATE_TEMPORAL_NAMESPACE":      d.Temporal.Namespace,
		"TRAILGATE_TEMPORAL_TASK_QUEUE":     d.Temporal.TaskQueue,
		"TRAILGATE_AWS_REGION":              d.AWS.Region,
		"TRAILGATE_IDENTITY_PROOF_KEY_FILE": proofKeyFile,
		"TRAILGATE_METRICS_ADDRESS":         metricsAddress,
		"TRAILGATE_LOG_FORMAT":              "json",
	}
}

// StartWorker starts bin/trailgate-worker with env added to this process's
// environment.
func StartWorker(bins Binaries, name, logDir string, env map[string]string) (*Process, error) {
	cmd := exec.Command(bins.Worker)
	cmd.Env = os.Environ()
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	return startProcess(name, filepath.Join(logDir, strings.ReplaceAll(name, " ", "-")+".log"), cmd)
}

func freePort() (int, error) {
	ports, err := devserver.FreePorts("127.0.0.1", 1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}
