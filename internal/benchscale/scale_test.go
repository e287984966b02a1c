package benchscale_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/trailgate/trailgate/internal/benchscale"
)

// rawEnv, when set, makes this test binary run the raw-Temporal row in a
// process of its own and print it as JSON: the row's CPU and peak memory
// are then its own.
const rawEnv = "TRAILGATE_BENCH_RAW"

func TestMain(m *testing.M) {
	if spec := os.Getenv(rawEnv); spec != "" {
		var in struct {
			N     int
			Shape benchscale.Shape
		}
		if err := json.Unmarshal([]byte(spec), &in); err != nil {
			fmt.Fprintln(os.Stderr, "bench-scale: bad", rawEnv, err)
			os.Exit(2)
		}
		row, err := benchscale.RunRaw(context.Background(), in.N, in.Shape)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench-scale: raw Temporal:", err)
			os.Exit(1)
		}
		_ = json.NewEncoder(os.Stdout).Encode(row)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// BenchmarkScale prints one table from one run: a change over each N of
// BENCH_N (10,100,1000 unless set) with and without the managed trail, raw
// Temporal of the same shape at each N, and the sequential AWS CLI
// baseline. make bench-scale runs it once (-benchtime 1x).
func BenchmarkScale(b *testing.B) {
	ns := benchNs(b)
	bins := buildBinaries(b)
	ctx := context.Background()
	logFile, err := os.CreateTemp("", "trailgate-bench-scale-*.log")
	if err != nil {
		b.Fatal(err)
	}
	defer logFile.Close()
	fmt.Fprintln(os.Stderr, "bench-scale: the processes' output goes to", logFile.Name())
	for b.Loop() {
		var rows []benchscale.Row
		shapes := map[int]benchscale.Shape{}
		for _, n := range ns {
			for _, trail := range []bool{false, true} {
				fmt.Fprintf(os.Stderr, "bench-scale: trailgate n=%d trail=%v...\n", n, trail)
				row, shape, err := benchscale.RunTrailgate(ctx, bins, n, trail, logFile)
				if err != nil {
					b.Fatalf("trailgate n=%d trail=%v: %v (worker log: %s)", n, trail, err, logFile.Name())
				}
				rows = append(rows, row)
				if trail {
					shapes[n] = shape
				}
			}
			fmt.Fprintf(os.Stderr, "bench-scale: raw Temporal n=%d...\n", n)
			raw, err := runRaw(n, shapes[n])
			if err != nil {
				b.Fatalf("raw Temporal n=%d: %v", n, err)
			}
			rows = append(rows, raw)
		}
		fmt.Fprintln(os.Stderr, "bench-scale: AWS CLI baseline at n=10...")
		cli, err := benchscale.RunAWSCLI(ctx, min(10, ns[0]), true, ns, logFile)
		if err != nil {
			b.Fatal(err)
		}
		rows = append(rows, cli...)
		fmt.Println()
		benchscale.WriteTable(os.Stdout, rows)
	}
}

// runRaw runs the raw-Temporal row in a fresh process of this binary.
func runRaw(n int, s benchscale.Shape) (benchscale.Row, error) {
	spec, _ := json.Marshal(struct {
		N     int
		Shape benchscale.Shape
	}{n, s})
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), rawEnv+"="+string(spec))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return benchscale.Row{}, err
	}
	var row benchscale.Row
	return row, json.Unmarshal(out, &row)
}

func benchNs(b *testing.B) []int {
	spec := os.Getenv("BENCH_N")
	if spec == "" {
		spec = "10,100,1000"
	}
	var ns []int
	for f := range strings.SplitSeq(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("BENCH_N=%q: %q is not a number of organizations; use a comma-separated list such as 10,100,1000", spec, f)
		}
		ns = append(ns, n)
	}
	return ns
}

// buildBinaries builds the worker and the CLI as make build does.
func buildBinaries(b *testing.B) benchscale.Binaries {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		b.Fatalf("find the module: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	dir := b.TempDir()
	bins := benchscale.Binaries{Worker: filepath.Join(dir, "trailgate-worker"), CLI: filepath.Join(dir, "trailgate")}
	for out, pkg := range map[string]string{bins.Worker: "./worker", bins.CLI: "./starter"} {
		build := exec.Command("go", "build", "-o", out, pkg)
		build.Dir = root
		if msg, err := build.CombinedOutput(); err != nil {
			b.Fatalf("build %s: %v\n%s", pkg, err, msg)
		}
	}
	return bins
}
