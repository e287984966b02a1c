package benchscale

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/trailgate/trailgate/internal/gobuild"
)

// rawEnv, when set, makes a process run only the raw-Temporal row and
// print it as JSON (see RunRawHere): the row's CPU and peak memory are then
// its own.
const rawEnv = "TRAILGATE_BENCH_RAW"

type rawSpec struct {
	N        int
	Shape    Shape
	Protocol bool
}

// RunRawHere runs the raw-Temporal row when this process was started for
// it, prints the row as JSON and reports true; otherwise it does nothing.
func RunRawHere(ctx context.Context, stdout io.Writer) (bool, error) {
	spec := os.Getenv(rawEnv)
	if spec == "" {
		return false, nil
	}
	var in rawSpec
	if err := json.Unmarshal([]byte(spec), &in); err != nil {
		return true, fmt.Errorf("%s=%q: %w", rawEnv, spec, err)
	}
	row, err := RunRaw(ctx, in.N, in.Shape, in.Protocol)
	if err != nil {
		return true, fmt.Errorf("raw Temporal: %w", err)
	}
	return true, json.NewEncoder(stdout).Encode(row)
}

// runRawProcess runs the raw-Temporal row in a fresh process of exe, which
// calls RunRawHere first thing.
func runRawProcess(exe string, args []string, n int, s Shape, protocol bool) (Row, error) {
	spec, _ := json.Marshal(rawSpec{n, s, protocol})
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), rawEnv+"="+string(spec))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return Row{}, err
	}
	var row Row
	return row, json.Unmarshal(out, &row)
}

// Build builds the worker and the CLI into dir, as make build does.
func Build(dir string) (Binaries, error) {
	bins := Binaries{Worker: filepath.Join(dir, "trailgate-worker"), CLI: filepath.Join(dir, "trailgate")}
	return bins, gobuild.Build(map[string]string{bins.Worker: "./worker", bins.CLI: "./starter"})
}
