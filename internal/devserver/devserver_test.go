package devserver_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/trailgate/trailgate/internal/devserver"
	"github.com/trailgate/trailgate/workflows"
)

const taskQueue = "devserver-test"

// waitForGo blocks until it is signalled, so that it is still open when the
// server restarts.
func waitForGo(ctx workflow.Context) (string, error) {
	var word string
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, &word)
	return "went " + word, nil
}

func startServer(t *testing.T, opts devserver.Options) *devserver.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := devserver.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start embedded Temporal: %v", err)
	}
	return s
}

func dial(t *testing.T, s *devserver.Server, namespace string) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort:  s.FrontendAddress(),
		Namespace: namespace,
		Logger:    sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	})
	if err != nil {
		t.Fatalf("connect to %s: %v", s.FrontendAddress(), err)
	}
	return c
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("get %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("get %s: %s: %s", url, resp.Status, body)
	}
	return string(body)
}

func TestWorkflowSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal's server twice")
	}
	ports, err := devserver.FreePorts("127.0.0.1", 2)
	if err != nil {
		t.Fatal(err)
	}
	opts := devserver.Options{
		DataDir:          t.TempDir(),
		FrontendPort:     ports[0],
		UIPort:           ports[1],
		Namespace:        "default",
		SearchAttributes: workflows.SearchAttributes(),
		Logger:           slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	s := startServer(t, opts)
	// The UI serves its app and reaches the frontend: the namespace shows.
	if page := get(t, s.UIURL()+"/"); !strings.Contains(page, "/_app/") {
		t.Fatalf("Temporal UI at %s does not serve the UI app", s.UIURL())
	}
	if ns := get(t, s.UIURL()+"/api/v1/namespaces/default"); !strings.Contains(ns, `"default"`) {
		t.Fatalf("Temporal UI at %s does not show namespace default: %s", s.UIURL(), ns)
	}

	c := dial(t, s, opts.Namespace)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "survivor", TaskQueue: taskQueue}, waitForGo)
	if err != nil {
		t.Fatalf("start workflow: %v", err)
	}
	c.Close()
	if err := s.Stop(); err != nil {
		t.Fatalf("stop embedded Temporal: %v", err)
	}

	s = startServer(t, opts)
	defer s.Stop()
	c = dial(t, s, opts.Namespace)
	defer c.Close()

	desc, err := c.DescribeWorkflowExecution(ctx, "survivor", run.GetRunID())
	if err != nil {
		t.Fatalf("describe the workflow started before the restart: %v", err)
	}
	if got := desc.GetWorkflowExecutionInfo().GetStatus(); got != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("workflow started before the restart is %s, want running", got)
	}

	attrs, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: opts.Namespace})
	if err != nil {
		t.Fatalf("list search attributes: %v", err)
	}
	for name, want := range workflows.SearchAttributes() {
		if got := attrs.GetCustomAttributes()[name]; got != want {
			t.Errorf("search attribute %s is %s after restart, want %s", name, got, want)
		}
	}

	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflow(waitForGo)
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	defer w.Stop()
	if err := c.SignalWorkflow(ctx, "survivor", run.GetRunID(), "go", "on"); err != nil {
		t.Fatalf("signal the workflow: %v", err)
	}
	var result string
	if err := c.GetWorkflow(ctx, "survivor", run.GetRunID()).Get(ctx, &result); err != nil {
		t.Fatalf("wait for the workflow: %v", err)
	}
	if result != "went on" {
		t.Fatalf("workflow returned %q, want %q", result, "went on")
	}
}

func TestBusyPortIsAClearError(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port

	dir := t.TempDir()
	_, err = devserver.Start(context.Background(), devserver.Options{
		DataDir:      dir,
		FrontendPort: port,
		Namespace:    "default",
	})
	var inUse *devserver.PortInUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("start on busy port %d: got %v, want a port-in-use error", port, err)
	}
	msg := err.Error()
	for _, want := range []string{strconv.Itoa(port), "Temporal frontend", "already in use", "stop it"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}

	err = devserver.CheckPorts("127.0.0.1", devserver.Port{Number: port, Purpose: "AWS sandbox", Setting: "dev.sandbox_port"})
	if err == nil || !strings.Contains(err.Error(), "TRAILGATE_DEV_SANDBOX_PORT") {
		t.Errorf("busy sandbox port: got %v, want the setting that moves it", err)
	}
}
