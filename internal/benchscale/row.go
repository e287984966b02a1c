// Package benchscale measures a change over many organizations on the
// real stack (the dev default: Temporal's own server, the AWS sandbox and
// the worker, in one process) against two references measured in the same
// run: raw Temporal doing nothing in a workflow of the same shape, and a
// sequential AWS CLI script of the enable path. make bench-scale runs it.
package benchscale

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Row is one measured line of the table.
type Row struct {
	// Name says what ran: trailgate, raw-temporal, raw-protocol (raw
	// Temporal running trailgate's protocol around the activities) or
	// aws-cli.
	Name  string
	N     int
	Trail bool
	// Wall is from the request to the last organization's end; ToGate is
	// from the request to the approval gate.
	Wall, ToGate time.Duration
	// PerOrg is how long each organization took, from its release past the
	// gate to its end.
	PerOrg []time.Duration
	CPU    time.Duration
	// PeakRSS is the measured process's peak resident set, in bytes.
	PeakRSS int64
	// Scaled says the row was measured at a smaller N and scaled to this
	// one.
	Scaled bool
	// Note says anything else worth knowing (activities per organization,
	// the N actually measured).
	Note string
}

// PerSecond is organizations per second of wall time.
func (r Row) PerSecond() float64 {
	if r.Wall <= 0 {
		return 0
	}
	return float64(r.N) / r.Wall.Seconds()
}

// percentile is the p-th percentile (0–100) of ds, nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

func seconds(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", d.Seconds())
}

func mib(b int64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%d", b>>20)
}

// WriteTable writes the rows as one table, then for each trailgate row with
// the trail (the references run that path) its
// ratios against the references of the same N (raw Temporal: its wall over
// trailgate's, higher is better, 1 is the limit; AWS CLI: its wall over
// trailgate's, how many times faster trailgate is), and the closing line for
// the largest N with the trail.
func WriteTable(w io.Writer, rows []Row) {
	fmt.Fprintf(w, "%-13s %6s %5s %8s %8s %8s %7s %7s %7s %8s  %s\n",
		"row", "orgs", "trail", "wall_s", "gate_s", "orgs/s", "p50_s", "p95_s", "cpu_s", "rss_mib", "note")
	for _, r := range rows {
		trail := "no"
		if r.Trail {
			trail = "yes"
		}
		if r.Name != "trailgate" {
			trail = "-"
		}
		note := r.Note
		if r.Scaled {
			note = strings.TrimSpace("scaled; " + note)
		}
		fmt.Fprintf(w, "%-13s %6d %5s %8s %8s %8.1f %7s %7s %7s %8s  %s\n",
			r.Name, r.N, trail, seconds(r.Wall), seconds(r.ToGate), r.PerSecond(),
			seconds(percentile(r.PerOrg, 50)), seconds(percentile(r.PerOrg, 95)),
			seconds(r.CPU), mib(r.PeakRSS), note)
	}
	fmt.Fprintln(w)
	var last *Row
	for i, r := range rows {
		if r.Name != "trailgate" {
			continue
		}
		if !r.Trail {
			// The references run the path with the trail: only a change
			// with the trail compares with them.
			continue
		}
		raw, protocol, cli := ratio(rows, r, "raw-temporal"), ratio(rows, r, "raw-protocol"), ratio(rows, r, "aws-cli")
		fmt.Fprintf(w, "n=%d trail=%v: %s of raw Temporal's speed (%s of raw Temporal running trailgate's protocol), %s the sequential AWS CLI's\n",
			r.N, r.Trail, times(raw), times(protocol), times(cli))
		if last == nil || r.N >= last.N {
			last = &rows[i]
		}
	}
	if last != nil {
		fmt.Fprintf(w, "bench-scale: n=%d wall_s=%.1f rss_mib=%d vs_raw_temporal=%.2f vs_aws_cli=%.1f\n",
			last.N, last.Wall.Seconds(), last.PeakRSS>>20, ratio(rows, *last, "raw-temporal"), ratio(rows, *last, "aws-cli"))
	}
}

// ratio is the reference row's wall time over r's, for the reference of
// r's N; zero when there is none.
func ratio(rows []Row, r Row, reference string) float64 {
	for _, ref := range rows {
		if ref.Name == reference && ref.N == r.N && r.Wall > 0 {
			return ref.Wall.Seconds() / r.Wall.Seconds()
		}
	}
	return 0
}

func times(x float64) string {
	if x == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", x)
}
