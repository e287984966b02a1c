package benchscale

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Ns reads BENCH_N's value: organizations counts, comma-separated;
// 10,100,1000 when empty.
func Ns(spec string) ([]int, error) {
	if strings.TrimSpace(spec) == "" {
		spec = "10,100,1000"
	}
	var ns []int
	for f := range strings.SplitSeq(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("BENCH_N=%q: %q is not a number of organizations; use a comma-separated list such as 10,100,1000", spec, f)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

// Table runs every row of the table: for each n of ns, the change with and
// without the managed trail and raw Temporal of the same shape, without and
// with trailgate's protocol (each run as self, with selfArgs, in a process
// of its own), then the AWS CLI baseline.
// Progress goes to progress, the processes' output to log.
func Table(ctx context.Context, bins Binaries, ns []int, self string, selfArgs []string, progress, log io.Writer) ([]Row, error) {
	var rows []Row
	for _, n := range ns {
		var shape Shape
		for _, trail := range []bool{false, true} {
			fmt.Fprintf(progress, "bench-scale: trailgate n=%d trail=%v...\n", n, trail)
			row, s, err := RunTrailgate(ctx, bins, n, trail, log)
			if err != nil {
				return rows, fmt.Errorf("trailgate n=%d trail=%v: %w", n, trail, err)
			}
			rows = append(rows, row)
			shape = s
		}
		for _, protocol := range []bool{false, true} {
			fmt.Fprintf(progress, "bench-scale: raw Temporal n=%d protocol=%v...\n", n, protocol)
			raw, err := runRawProcess(self, selfArgs, n, shape, protocol)
			if err != nil {
				return rows, fmt.Errorf("raw Temporal n=%d protocol=%v: %w", n, protocol, err)
			}
			rows = append(rows, raw)
		}
	}
	fmt.Fprintln(progress, "bench-scale: AWS CLI baseline at n=10...")
	cli, err := RunAWSCLI(ctx, min(10, ns[0]), true, ns, log)
	return append(rows, cli...), err
}
