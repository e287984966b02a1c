package benchscale_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/trailgate/trailgate/internal/benchscale"
)

func TestMain(m *testing.M) {
	if raw, err := benchscale.RunRawHere(context.Background(), os.Stdout); raw {
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench-scale:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// BenchmarkScale prints one table from one run: a change over each N of
// BENCH_N (10,100,1000 unless set) with and without the managed trail, raw
// Temporal of the same shape at each N, and the sequential AWS CLI
// baseline. make bench-scale runs it once (-benchtime 1x).
func BenchmarkScale(b *testing.B) {
	ns, err := benchscale.Ns(os.Getenv("BENCH_N"))
	if err != nil {
		b.Fatal(err)
	}
	bins, err := benchscale.Build(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	log, err := os.CreateTemp("", "trailgate-bench-scale-*.log")
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	fmt.Fprintln(os.Stderr, "bench-scale: the processes' output goes to", log.Name())
	for b.Loop() {
		rows, err := benchscale.Table(context.Background(), bins, ns, os.Args[0], []string{"-test.run=^$", "-test.bench=^$"}, os.Stderr, log)
		if err != nil {
			b.Fatalf("%v (processes' output: %s)", err, log.Name())
		}
		fmt.Println()
		benchscale.WriteTable(os.Stdout, rows)
	}
}
