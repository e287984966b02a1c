package workflows_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/metrics"
	"github.com/trailgate/trailgate/internal/temporalclient"
	"github.com/trailgate/trailgate/internal/testenv"
	"github.com/trailgate/trailgate/workflows"
)

// A worker serving its metrics as metrics.address does carries, after a
// change and an audit, every metric trailgate lists, with its labels.
func TestTrailgateMetricsAfterAChange(t *testing.T) {
	m, err := temporalclient.ServeMetrics("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	env := testenv.Start(t, testenv.Options{Instant: true, Metrics: m.Handler, Sandbox: awssandbox.Options{Faults: []awssandbox.Fault{
		// Throttled once: the AWS SDK's retryer tries again.
		{Service: "organizations", Operation: "DescribeOrganization", Error: "TooManyRequestsException", Count: 1},
	}}})
	v := view(t, env, "acme-prod")

	in := request(t, env, "metrics-enable", workflows.ActionEnable, "acme-prod")
	run := start(t, env, in)
	waitChange(t, env, in.ChangeID, awaitingWave(1))
	approveWave(t, env, in.ChangeID, 1)
	if p := result(t, run); p.Phase != workflows.PhaseSucceeded {
		t.Fatalf("enable ended %s: %+v", p.Phase, p.Targets)
	}

	// Trusted access turned off behind trailgate's back: the audit finds it.
	hands(v).trustedAccess(false)
	audit, err := env.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "metrics-audit", TaskQueue: env.Config.Temporal.TaskQueue},
		workflows.AuditWorkflowName, workflows.AuditInput{Trigger: workflows.AuditByCLI})
	if err != nil {
		t.Fatal(err)
	}
	var report workflows.AuditReport
	if err := audit.Get(context.Background(), &report); err != nil {
		t.Fatal(err)
	}
	if len(report.Appeared) == 0 {
		t.Fatalf("the audit found no drift: %+v", report)
	}

	// What a series must say beyond carrying its metric's labels.
	want := map[string]map[string]string{
		metrics.ChangesStarted:   {metrics.LabelAction: "enable"},
		metrics.ChangesEnded:     {metrics.LabelAction: "enable", metrics.LabelOutcome: string(workflows.PhaseSucceeded)},
		metrics.PhaseTransitions: {metrics.LabelAction: "enable", metrics.LabelPhase: string(workflows.PhaseAwaitingApproval)},
		metrics.GateWait:         {metrics.LabelGate: metrics.GateApproval},
		metrics.AWSCalls:         {metrics.LabelService: "Organizations", metrics.LabelOperation: "DescribeOrganization", metrics.LabelCode: metrics.CodeOK},
		metrics.AWSRetries:       {metrics.LabelService: "Organizations", metrics.LabelOperation: "DescribeOrganization"},
		metrics.DriftFindings:    {metrics.LabelKind: string(activities.FindingTrustedAccess), metrics.LabelEvent: metrics.FindingAppeared},
	}
	url := "http://" + m.Address + temporalclient.MetricsPath
	var missing []string
	// The reporter publishes what was recorded about once a second.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		series := scrape(t, url)
		missing = missing[:0]
		for _, metric := range metrics.All {
			if !hasSeries(series, metric, want[metric.Name]) {
				missing = append(missing, fmt.Sprintf("%s %v with %v", metric.Name, metric.Labels, want[metric.Name]))
			}
		}
		if len(missing) == 0 {
			for _, s := range series {
				if !strings.HasPrefix(s.name, "trailgate_") {
					continue
				}
				for l, v := range s.labels {
					// Labels stay bounded: no change, no organization.
					if strings.Contains(v, "metrics_enable") || strings.Contains(v, "acme_prod") || (l != metrics.LabelCode && v == "") {
						t.Errorf("%s has %s=%q", s.name, l, v)
					}
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s lacks:\n%s\nit serves:\n%s", url, strings.Join(missing, "\n"), trailgateSeries(series))
		}
	}
}

// sample is one line of Prometheus' text format.
type sample struct {
	name   string
	labels map[string]string
}

var labelPair = regexp.MustCompile(`(\w+)="([^"]*)"`)

func scrape(t *testing.T, url string) []sample {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	var out []sample
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		s := sample{name: name, labels: map[string]string{}}
		if rest != "" {
			rest, _, _ = strings.Cut(rest, "}")
			for _, kv := range labelPair.FindAllStringSubmatch(rest, -1) {
				s.labels[kv[1]] = kv[2]
			}
		}
		out = append(out, s)
	}
	return out
}

// hasSeries reports whether a series of the metric carries every label the
// metric lists, with the values wanted.
func hasSeries(series []sample, m metrics.Metric, want map[string]string) bool {
	name := m.Name
	if m.Type == metrics.Histogram {
		name += "_count"
	}
next:
	for _, s := range series {
		if s.name != name {
			continue
		}
		for _, l := range m.Labels {
			if _, ok := s.labels[l]; !ok {
				continue next
			}
		}
		for l, v := range want {
			// The SDK's Prometheus naming spells "-" in a label value "_".
			if s.labels[l] != strings.ReplaceAll(v, "-", "_") {
				continue next
			}
		}
		return true
	}
	return false
}

func trailgateSeries(series []sample) string {
	var b strings.Builder
	for _, s := range series {
		if strings.HasPrefix(s.name, "trailgate_") {
			fmt.Fprintf(&b, "%s %v\n", s.name, s.labels)
		}
	}
	return b.String()
}
