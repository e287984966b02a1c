package benchscale

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/devmode"
	"github.com/trailgate/trailgate/internal/devserver"
	"github.com/trailgate/trailgate/internal/temporalclient"
	"github.com/trailgate/trailgate/workflows"
)

// The raw-Temporal row's workflows: a parent that starts N children at
// once, each running the same number of activities and local activities as
// one organization's workflow of trailgate, one after another, each doing
// nothing.
//
// The raw-protocol row's add trailgate's protocol around the activities:
// each child records the same number of version markers and search
// attribute upserts, reports to the parent as often as an organization
// reports to its change, and waits for as many signals from it; the parent
// sends them once every child has reported, as a change releases its
// organizations at the gate.
const (
	rawParentName      = "bench-raw-change"
	rawChildName       = "bench-raw-organization"
	protocolParentName = "bench-raw-protocol-change"
	protocolChildName  = "bench-raw-protocol-organization"
	rawNoopName        = "bench-raw-noop"
	rawTaskQueue       = "bench-raw"

	reportSignal  = "bench-report"
	releaseSignal = "bench-release"
)

type rawInput struct {
	N     int   `json:"n"`
	Shape Shape `json:"shape"`
}

func rawParent(ctx workflow.Context, in rawInput) error {
	futures := make([]workflow.ChildWorkflowFuture, in.N)
	for i := range futures {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID: childID(ctx, i),
		})
		futures[i] = workflow.ExecuteChildWorkflow(cctx, rawChildName, in.Shape)
	}
	for _, f := range futures {
		if err := f.Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

func rawChild(ctx workflow.Context, s Shape) error {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: time.Minute})
	for range s.LocalActivities {
		if err := workflow.ExecuteLocalActivity(lctx, rawNoopName).Get(ctx, nil); err != nil {
			return err
		}
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	for range s.Activities {
		if err := workflow.ExecuteActivity(actx, rawNoopName).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

func rawNoop(context.Context) error { return nil }

// childID is the workflow ID of the parent's i-th child.
func childID(ctx workflow.Context, i int) string {
	return fmt.Sprintf("%s/%05d", workflow.GetInfo(ctx).WorkflowExecution.ID, i)
}

func protocolParent(ctx workflow.Context, in rawInput) error {
	futures := make([]workflow.ChildWorkflowFuture, in.N)
	for i := range futures {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            childID(ctx, i),
			TypedSearchAttributes: temporal.NewSearchAttributes(workflows.PhaseKey.ValueSet("pending")),
		})
		futures[i] = workflow.ExecuteChildWorkflow(cctx, protocolChildName, in.Shape)
	}
	reports := workflow.GetSignalChannel(ctx, reportSignal)
	for range in.N * in.Shape.SignalsSent {
		reports.Receive(ctx, nil)
	}
	for range in.Shape.SignalsReceived {
		sent := make([]workflow.Future, in.N)
		for i := range sent {
			sent[i] = workflow.SignalExternalWorkflow(ctx, childID(ctx, i), "", releaseSignal, nil)
		}
		for _, f := range sent {
			if err := f.Get(ctx, nil); err != nil {
				return err
			}
		}
	}
	for _, f := range futures {
		if err := f.Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// protocolChild runs the activities of s as an organization does: a phase
// before each, the first alone, then the report and the wait for the
// release, then the local activities and the rest; a last phase at the
// end. Upserts beyond that come at the end; fewer leave the last ones out.
func protocolChild(ctx workflow.Context, s Shape) error {
	for i := range s.VersionMarkers {
		workflow.GetVersion(ctx, fmt.Sprintf("bench-%d", i), workflow.DefaultVersion, 1)
	}
	phases := s.Upserts - s.VersionMarkers
	phase := func() {
		if phases > 0 {
			phases--
			_ = workflow.UpsertTypedSearchAttributes(ctx, workflows.PhaseKey.ValueSet(fmt.Sprintf("phase-%d", phases)))
		}
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: time.Minute})
	for i := range s.Activities {
		phase()
		if err := workflow.ExecuteActivity(actx, rawNoopName).Get(ctx, nil); err != nil {
			return err
		}
		if i > 0 {
			continue
		}
		phase()
		parent := workflow.GetInfo(ctx).ParentWorkflowExecution
		for range s.SignalsSent {
			if err := workflow.SignalExternalWorkflow(ctx, parent.ID, "", reportSignal, nil).Get(ctx, nil); err != nil {
				return err
			}
		}
		for range s.SignalsReceived {
			workflow.GetSignalChannel(ctx, releaseSignal).Receive(ctx, nil)
		}
		for range s.LocalActivities {
			if err := workflow.ExecuteLocalActivity(lctx, rawNoopName).Get(ctx, nil); err != nil {
				return err
			}
		}
	}
	for phases > 0 {
		phase()
	}
	return nil
}

// RunRaw measures raw Temporal in this process: the embedded server on a
// fresh data directory, as the dev default runs it, and a worker with the
// options trailgate's worker has, running one parent over n children of
// shape s. The process's CPU and peak memory are read from /proc/self, so
// RunRaw belongs in a process of its own.
//
// With protocol, the children run trailgate's protocol around the
// activities too (see protocolChild): the row is then raw-protocol.
func RunRaw(ctx context.Context, n int, s Shape, protocol bool) (Row, error) {
	row := Row{Name: "raw-temporal", N: n}
	parent, child := rawParentName, rawChildName
	if protocol {
		row.Name = "raw-protocol"
		parent, child = protocolParentName, protocolChildName
	}
	dir, err := os.MkdirTemp("", "trailgate-bench-raw-*")
	if err != nil {
		return row, err
	}
	defer os.RemoveAll(dir)
	port, err := devserver.FreePort("127.0.0.1")
	if err != nil {
		return row, err
	}
	srv, err := devserver.Start(ctx, devserver.Options{
		DataDir: filepath.Join(dir, "temporal"), Host: "127.0.0.1", FrontendPort: port,
		Namespace: "default", SearchAttributes: workflows.SearchAttributes(),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return row, err
	}
	defer func() { _ = srv.Stop() }()
	// The worker's connection is the dev default's: its effective
	// configuration, with the embedded server's address.
	temporal := devmode.Effective(config.Default(), dir, srv.FrontendAddress(), "", nil).Temporal
	opts, err := temporalclient.Options(temporal, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		return row, err
	}
	opts.Namespace, opts.Logger = "default", quiet{}
	c, err := client.Dial(opts)
	if err != nil {
		return row, err
	}
	defer c.Close()
	w := worker.New(c, rawTaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(rawParent, workflow.RegisterOptions{Name: rawParentName})
	w.RegisterWorkflowWithOptions(rawChild, workflow.RegisterOptions{Name: rawChildName})
	w.RegisterWorkflowWithOptions(protocolParent, workflow.RegisterOptions{Name: protocolParentName})
	w.RegisterWorkflowWithOptions(protocolChild, workflow.RegisterOptions{Name: protocolChildName})
	w.RegisterActivityWithOptions(rawNoop, activityName(rawNoopName))
	if err := w.Start(); err != nil {
		return row, err
	}
	defer w.Stop()

	before, err := readUsage(os.Getpid())
	if err != nil {
		return row, err
	}
	start := time.Now()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "bench-raw", TaskQueue: rawTaskQueue}, parent, rawInput{N: n, Shape: s})
	if err != nil {
		return row, err
	}
	if err := run.Get(ctx, nil); err != nil {
		return row, err
	}
	row.Wall = time.Since(start)
	after, err := readUsage(os.Getpid())
	if err != nil {
		return row, err
	}
	row.CPU, row.PeakRSS = after.CPU-before.CPU, after.PeakRSS

	// The note says what a child ran, as its history shows it.
	ran, err := shapeOf(ctx, c, fmt.Sprintf("%s/%05d", run.GetID(), 0))
	if err != nil {
		return row, err
	}
	row.Note = ran.String()
	if protocol {
		row.Note = ran.protocol()
	}

	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowType = %q", child), NextPageToken: token, PageSize: 1000,
		})
		if err != nil {
			return row, err
		}
		for _, e := range resp.GetExecutions() {
			if ct := e.GetCloseTime(); ct != nil {
				row.PerOrg = append(row.PerOrg, ct.AsTime().Sub(start))
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return row, nil
		}
	}
}

func activityName(name string) activity.RegisterOptions {
	return activity.RegisterOptions{Name: name}
}
