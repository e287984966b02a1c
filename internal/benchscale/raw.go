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
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/trailgate/trailgate/internal/devserver"
	"github.com/trailgate/trailgate/workflows"
)

// The raw-Temporal row's workflows: a parent that starts N children at
// once, each running the same number of activities and local activities as
// one organization's workflow of trailgate, one after another, each doing
// nothing.
const (
	rawParentName = "bench-raw-change"
	rawChildName  = "bench-raw-organization"
	rawNoopName   = "bench-raw-noop"
	rawTaskQueue  = "bench-raw"
)

type rawInput struct {
	N     int   `json:"n"`
	Shape Shape `json:"shape"`
}

func rawParent(ctx workflow.Context, in rawInput) error {
	futures := make([]workflow.ChildWorkflowFuture, in.N)
	for i := range futures {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID: fmt.Sprintf("%s/%05d", workflow.GetInfo(ctx).WorkflowExecution.ID, i),
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

// RunRaw measures raw Temporal in this process: the embedded server on a
// fresh data directory, as the dev default runs it, and a worker with the
// options trailgate's worker has, running one parent over n children of
// shape s. The process's CPU and peak memory are read from /proc/self, so
// RunRaw belongs in a process of its own.
func RunRaw(ctx context.Context, n int, s Shape) (Row, error) {
	row := Row{Name: "raw-temporal", N: n, Note: s.String()}
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
	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Logger: quiet{}})
	if err != nil {
		return row, err
	}
	defer c.Close()
	w := worker.New(c, rawTaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(rawParent, workflow.RegisterOptions{Name: rawParentName})
	w.RegisterWorkflowWithOptions(rawChild, workflow.RegisterOptions{Name: rawChildName})
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
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "bench-raw", TaskQueue: rawTaskQueue}, rawParentName, rawInput{N: n, Shape: s})
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

	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowType = %q", rawChildName), NextPageToken: token, PageSize: 1000,
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
