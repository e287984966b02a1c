package benchscale

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/devserver"
	"github.com/trailgate/trailgate/internal/temporalclient"
	"github.com/trailgate/trailgate/workflows"
)

// Binaries are the programs a trailgate row runs, as make build builds them.
type Binaries struct {
	Worker, CLI string
}

// devDefault is a running trailgate-worker --dev of one row.
type devDefault struct {
	dir    string
	cmd    *exec.Cmd
	config string
	client client.Client
	queue  string
}

// startDevDefault starts the dev default on a fresh data directory seeded
// with n organizations, and returns once its worker polls for work.
func startDevDefault(ctx context.Context, bins Binaries, n int, trail bool, log io.Writer) (*devDefault, error) {
	dir, err := os.MkdirTemp("", "trailgate-bench-scale-*")
	if err != nil {
		return nil, err
	}
	ports := make([]string, 3)
	for i := range ports {
		p, err := devserver.FreePort("127.0.0.1")
		if err != nil {
			return nil, err
		}
		ports[i] = strconv.Itoa(p)
	}
	cmd := exec.Command(bins.Worker, "--dev", "--dev-data-dir", dir,
		"--dev-temporal-port", ports[0], "--dev-ui-port", ports[1], "--dev-sandbox-port", ports[2],
		"--dev-organizations", strconv.Itoa(n), "--dev-trail="+strconv.FormatBool(trail), "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bins.Worker, err)
	}
	d := &devDefault{dir: dir, cmd: cmd, config: filepath.Join(dir, config.DefaultFile)}
	if err := d.awaitWorker(ctx, "127.0.0.1:"+ports[0]); err != nil {
		d.stop()
		return nil, err
	}
	return d, nil
}

// awaitWorker waits for the written configuration, then for the worker to
// poll its task queue.
func (d *devDefault) awaitWorker(ctx context.Context, address string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	for {
		if _, err := os.Stat(d.config); err == nil {
			break
		}
		if err := pause(ctx, 100*time.Millisecond); err != nil {
			return fmt.Errorf("the dev default wrote no %s: %w", d.config, err)
		}
	}
	cfg, err := config.Load(config.LoadOptions{WorkDir: d.dir})
	if err != nil {
		return err
	}
	d.queue = cfg.Temporal.TaskQueue
	opts, err := temporalclient.Options(cfg.Temporal, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		return err
	}
	opts.HostPort, opts.Logger = address, quiet{}
	if d.client, err = client.Dial(opts); err != nil {
		return fmt.Errorf("reach the dev default's Temporal at %s: %w", address, err)
	}
	for {
		resp, err := d.client.DescribeTaskQueue(ctx, d.queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err == nil && len(resp.GetPollers()) > 0 {
			return nil
		}
		if err := pause(ctx, 100*time.Millisecond); err != nil {
			return fmt.Errorf("the dev default's worker never polled task queue %s: %w", d.queue, err)
		}
	}
}

func (d *devDefault) stop() {
	if d.client != nil {
		d.client.Close()
	}
	if d.cmd.Process != nil {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = d.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = d.cmd.Process.Kill()
			<-done
		}
	}
	_ = os.RemoveAll(d.dir)
}

// cli runs the trailgate CLI on the dev default's configuration.
func (d *devDefault) cli(ctx context.Context, bins Binaries, log io.Writer, args ...string) error {
	cmd := exec.CommandContext(ctx, bins.CLI, append(args, "--config", d.config)...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("trailgate %v: %w", args, err)
	}
	return nil
}

// RunTrailgate measures one enable change over n organizations in one
// wave (in waves of workflows.MaxWaveOrganizations beyond it: only the
// first needs approval), on a fresh dev default: requested by dave, approved by alice and
// bob (the dev default's policy), each proving who they are as the CLI
// does.
func RunTrailgate(ctx context.Context, bins Binaries, n int, trail bool, log io.Writer) (Row, Shape, error) {
	row := Row{Name: "trailgate", N: n, Trail: trail}
	d, err := startDevDefault(ctx, bins, n, trail, log)
	if err != nil {
		return row, Shape{}, err
	}
	defer d.stop()
	pid := d.cmd.Process.Pid
	before, err := readUsage(pid)
	if err != nil {
		return row, Shape{}, err
	}

	id := fmt.Sprintf("bench-%d-%s", n, map[bool]string{true: "trail", false: "no-trail"}[trail])
	start := time.Now()
	enable := []string{"enable", "--all", "--change-id", id, "--profile", "dave", "--reason", "bench-scale"}
	if n > workflows.MaxWaveOrganizations {
		enable = append(enable, "--waves", strings.Join(workflows.WavesOfAtMost(workflows.MaxWaveOrganizations, n), ","))
	}
	if err := d.cli(ctx, bins, log, enable...); err != nil {
		return row, Shape{}, err
	}
	if err := d.awaitPhase(ctx, id, workflows.PhaseAwaitingApproval); err != nil {
		return row, Shape{}, err
	}
	row.ToGate = time.Since(start)
	for _, approver := range []string{"alice", "bob"} {
		if err := d.cli(ctx, bins, log, "approve", id, "--profile", approver, "--comment", "bench-scale"); err != nil {
			return row, Shape{}, err
		}
	}
	released := time.Now()
	var p workflows.ChangeProgress
	if err := d.client.GetWorkflow(ctx, id, "").Get(ctx, &p); err != nil {
		return row, Shape{}, fmt.Errorf("change %s: %w", id, err)
	}
	row.Wall = time.Since(start)
	if p.Phase != workflows.PhaseSucceeded {
		return row, Shape{}, fmt.Errorf("change %s ended %s, not succeeded", id, p.Phase)
	}
	after, err := readUsage(pid)
	if err != nil {
		return row, Shape{}, err
	}
	row.CPU, row.PeakRSS = after.CPU-before.CPU, after.PeakRSS
	if row.PerOrg, err = d.perOrganization(ctx, id, released); err != nil {
		return row, Shape{}, err
	}
	shape, err := shapeOf(ctx, d.client, workflows.TargetWorkflowID(id, p.Targets[0].Organization))
	if err != nil {
		return row, Shape{}, err
	}
	row.Note = shape.String()
	return row, shape, nil
}

// awaitPhase polls the change's phase search attribute, which costs the
// server far less than a query, until it is want.
func (d *devDefault) awaitPhase(ctx context.Context, id string, want workflows.Phase) error {
	for {
		resp, err := d.client.DescribeWorkflowExecution(ctx, id, "")
		if err == nil {
			var phase string
			if f := resp.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[workflows.PhaseKey.GetName()]; f != nil {
				_ = converter.GetDefaultDataConverter().FromPayload(f, &phase)
			}
			if workflows.Phase(phase) == want {
				return nil
			}
			if resp.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				return fmt.Errorf("change %s ended before reaching %s", id, want)
			}
		}
		if err := pause(ctx, 50*time.Millisecond); err != nil {
			return fmt.Errorf("change %s never reached %s: %w", id, want, err)
		}
	}
}

// perOrganization is, for each organization's workflow, the time from
// release past the gate to its close.
func (d *devDefault) perOrganization(ctx context.Context, id string, released time.Time) ([]time.Duration, error) {
	var out []time.Duration
	var token []byte
	for {
		resp, err := d.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query:         fmt.Sprintf("%s = %q AND WorkflowId != %q", workflows.ChangeIDKey.GetName(), id, id),
			NextPageToken: token,
			PageSize:      1000,
		})
		if err != nil {
			return nil, fmt.Errorf("list the organizations of change %s: %w", id, err)
		}
		for _, e := range resp.GetExecutions() {
			if c := e.GetCloseTime(); c != nil {
				out = append(out, c.AsTime().Sub(released))
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return out, nil
		}
	}
}

// Shape is what one organization's workflow runs: its activities and
// local activities, and its history's length.
type Shape struct {
	Activities, LocalActivities, Events int
	// The protocol around the activities: version markers, search
	// attribute upserts (a version marker's among them), signals sent to
	// the change and received from it.
	VersionMarkers, Upserts, SignalsSent, SignalsReceived int
}

func (s Shape) String() string {
	return fmt.Sprintf("%d activities, %d local, %d events per organization", s.Activities, s.LocalActivities, s.Events)
}

// protocol says what of the protocol around the activities s has.
func (s Shape) protocol() string {
	return fmt.Sprintf("%d activities, %d local, %d version markers, %d upserts, %d signals sent, %d received, %d events per organization",
		s.Activities, s.LocalActivities, s.VersionMarkers, s.Upserts, s.SignalsSent, s.SignalsReceived, s.Events)
}

// shapeOf counts what a workflow ran, from its history: an
// organization's, or a raw row's child.
func shapeOf(ctx context.Context, c client.Client, workflowID string) (Shape, error) {
	var s Shape
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return s, fmt.Errorf("read the history of %s: %w", workflowID, err)
		}
		s.Events++
		s.count(e)
	}
	return s, nil
}

func (s *Shape) count(e *historypb.HistoryEvent) {
	switch e.GetEventType() {
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
		s.Activities++
	case enumspb.EVENT_TYPE_MARKER_RECORDED:
		switch e.GetMarkerRecordedEventAttributes().GetMarkerName() {
		case "LocalActivity":
			s.LocalActivities++
		case "Version":
			s.VersionMarkers++
		}
	case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
		s.Upserts++
	case enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
		s.SignalsSent++
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
		s.SignalsReceived++
	}
}

func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// quiet drops the Temporal client's logs.
type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}
