package workflows_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
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
	env := testenv.Start(t, testenv.Options{Instant: true, Metrics: true, Sandbox: awssandbox.Options{Faults: []awssandbox.Fault{
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
	recordHistory(t, env, "metrics-audit", "audit")

	// What a series must say beyond carrying its metric's labels.
	want := map[string]map[string]string{
		metrics.ChangesStarted:   {metrics.LabelAction: "enable"},
		metrics.ChangesEnded:     {metrics.LabelAction: "enable", metrics.LabelOutcome: string(workflows.PhaseSucceeded)},
		metrics.PhaseTransitions: {metrics.LabelAction: "enable", metrics.LabelPhase: string(workflows.PhaseAwaitingApproval)},
		metrics.GateWait:         {metrics.LabelGate: metrics.GateApproval},
		metrics.AWSCalls:         {metrics.LabelService: "Organizations", metrics.LabelOperation: "DescribeOrganization", metrics.LabelCode: metrics.CodeOK},
		metrics.AWSRetries:       {metrics.LabelService: "Organizations", metrics.LabelOperation: "DescribeOrganization"},
		metrics.DriftFindings:    {metrics.LabelKind: string(activities.FindingTrustedAccess), metrics.LabelEvent: metrics.FindingAppeared},
		metrics.Organizations:    {metrics.LabelPhase: string(workflows.PhaseAwaitingApproval)},
	}
	url := "http://" + env.Metrics.Address + temporalclient.MetricsPath
	var missing []string
	var series map[string]*dto.MetricFamily
	// The reporter publishes what was recorded about once a second.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		series = scrape(t, url)
		missing = missing[:0]
		for _, metric := range metrics.All {
			if !hasSeries(series, metric, want[metric.Name]) {
				missing = append(missing, fmt.Sprintf("%s %v with %v", metric.Name, metric.Labels, want[metric.Name]))
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s lacks:\n%s\nit serves:\n%s", url, strings.Join(missing, "\n"), trailgateSeries(series))
		}
	}
	// Labels stay bounded: no change, no organization, nothing left empty.
	for _, metric := range metrics.All {
		for _, one := range series[metric.Name].GetMetric() {
			for l, v := range labelsOf(one) {
				if strings.Contains(v, "metrics_enable") || strings.Contains(v, "acme_prod") || (v == "" && l != metrics.LabelCode) {
					t.Errorf("%s has %s=%q", metric.Name, l, v)
				}
			}
		}
	}
}

// scrape reads the endpoint's metric families, by name.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	var parser expfmt.TextParser
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("read what %s serves: %v", url, err)
	}
	return families
}

// hasSeries reports whether the metric is served with its type, in a
// series that carries every label the metric lists, with the values wanted.
func hasSeries(families map[string]*dto.MetricFamily, m metrics.Metric, want map[string]string) bool {
	f, ok := families[m.Name]
	if !ok || strings.ToLower(f.GetType().String()) != string(m.Type) {
		return false
	}
	return slices.ContainsFunc(f.GetMetric(), func(series *dto.Metric) bool {
		labels := labelsOf(series)
		for _, l := range m.Labels {
			if _, ok := labels[l]; !ok {
				return false
			}
		}
		for l, v := range want {
			// The SDK's Prometheus naming spells "-" in a label value "_".
			if labels[l] != strings.ReplaceAll(v, "-", "_") {
				return false
			}
		}
		return true
	})
}

func labelsOf(series *dto.Metric) map[string]string {
	labels := map[string]string{}
	for _, l := range series.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	return labels
}

// trailgateSeries lists trailgate's series, for a failure's message.
func trailgateSeries(families map[string]*dto.MetricFamily) string {
	var b strings.Builder
	for name, f := range families {
		if strings.HasPrefix(name, "trailgate_") {
			for _, series := range f.GetMetric() {
				fmt.Fprintf(&b, "%s %v\n", name, labelsOf(series))
			}
		}
	}
	return b.String()
}
