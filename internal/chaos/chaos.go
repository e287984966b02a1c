// Package chaos crashes trailgate for real. It runs the embedded default
// (bin/trailgate-worker --dev) as a separate process, rolls changes out over
// many organizations, SIGKILLs the process at chosen points of each rollout
// (at a gate, while organizations mutate AWS, while they read it back) and
// starts it again on the same data directory. Each round then checks what a
// user relies on: the change ended succeeded, so did every organization,
// AWS shows it when read back as each management account, and every
// decision acknowledged before a kill is in the change's record.
//
// The dev default holds Temporal's server, the AWS sandbox and the worker
// in one process, so a kill takes them down together; Temporal cannot be
// killed alone. It seeds three organizations. For more, the harness adds
// organizations to the stopped sandbox through the sandbox's own Go API and
// runs the worker as a second process, on a task queue of its own, with a
// configuration that lists them all: the dev default then serves Temporal
// and the AWS sandbox, and a kill takes down the dev default, the worker,
// or both.
package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/workflows"
)

// Options say what the harness runs.
type Options struct {
	// Worker is the path of bin/trailgate-worker.
	Worker string
	// DataDir is the dev default's data directory, created when missing;
	// the processes' logs are kept there too.
	DataDir string
	// Organizations is how many organizations every change rolls out over.
	Organizations int
	// Latency slows every Organizations, CloudTrail, IAM and S3 call of the
	// AWS sandbox, a quarter of them twice over, as AWS under load. Zero
	// leaves AWS fast.
	Latency time.Duration
	// Seed draws the kills of Draw and the slow calls; the same seed draws
	// the same plan.
	Seed uint64
	// Log receives what happens, a line an event; nil discards it.
	Log io.Writer
}

// chaosTaskQueue is the task queue of the harness's own worker, so that the
// dev default's worker, which knows only the organizations it seeded, never
// takes the rollouts' tasks.
const chaosTaskQueue = "trailgate-chaos"

// Harness is a running dev default, and the worker when the rollouts need
// more organizations than the dev default seeds.
type Harness struct {
	opts   Options
	dev    *process
	worker *process // nil: the dev default's own worker runs the changes

	cfg      config.Config // the configuration the changes' worker runs with
	orgs     []organization
	people   *people
	client   client.Client
	endpoint string // the AWS sandbox
	rng      *rand.Rand
}

// Start starts the dev default on a fresh data directory and, when
// opts.Organizations asks for more organizations than it seeds, adds them
// and starts the worker that knows them. Close stops what Start started.
func Start(ctx context.Context, opts Options) (*Harness, error) {
	if opts.Organizations < 1 {
		return nil, fmt.Errorf("start the chaos harness: %d organizations; roll out over 1 or more", opts.Organizations)
	}
	if _, err := os.Stat(opts.Worker); err != nil {
		return nil, fmt.Errorf("start the chaos harness: the worker binary: %w (make build)", err)
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("start the chaos harness: %w", err)
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	h := &Harness{opts: opts, rng: rand.New(rand.NewPCG(opts.Seed, 0x6368616f73))} // "chaos"
	ports := make([]string, 3)
	for i := range ports {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("start the chaos harness: %w", err)
		}
		ports[i] = strconv.Itoa(port)
	}
	h.endpoint = "http://127.0.0.1:" + ports[2]
	h.dev = &process{
		name: "the dev default",
		path: opts.Worker,
		args: []string{"--dev", "--dev-data-dir", opts.DataDir,
			"--dev-temporal-port", ports[0], "--dev-ui-port", ports[1], "--dev-sandbox-port", ports[2]},
		log: filepath.Join(opts.DataDir, "dev-default.log"),
	}
	if err := h.start(ctx); err != nil {
		_ = h.Close()
		return nil, fmt.Errorf("start the chaos harness: %w", err)
	}
	return h, nil
}

func (h *Harness) start(ctx context.Context) error {
	if err := h.dev.start(); err != nil {
		return err
	}
	configFile := filepath.Join(h.opts.DataDir, config.DefaultFile)
	if err := h.waitDevDefault(ctx, func() bool { _, err := os.Stat(configFile); return err == nil }); err != nil {
		return err
	}
	cfg, err := loadConfig(configFile)
	if err != nil {
		return err
	}
	if h.orgs, err = devOrganizations(ctx, cfg); err != nil {
		return err
	}
	if h.people, err = loadPeople(ctx, cfg); err != nil {
		return err
	}
	h.cfg = cfg
	if more := h.opts.Organizations - len(h.orgs); more > 0 {
		if err := h.addOrganizations(ctx, more); err != nil {
			return err
		}
	}
	h.orgs = h.orgs[:h.opts.Organizations]
	h.client, err = client.Dial(client.Options{
		HostPort: h.cfg.Temporal.Address, Namespace: h.cfg.Temporal.Namespace,
		Logger: sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	})
	if err != nil {
		return fmt.Errorf("connect to the dev default's Temporal at %s: %w", h.cfg.Temporal.Address, err)
	}
	h.say("dev default ready: %d organizations, Temporal %s, AWS sandbox %s, %s", len(h.orgs), h.cfg.Temporal.Address, h.endpoint, h.Layout())
	return nil
}

// addOrganizations stops the dev default, adds organizations to its
// sandbox, starts it again and starts the worker that knows them all.
func (h *Harness) addOrganizations(ctx context.Context, n int) error {
	if err := h.dev.stop(time.Minute); err != nil {
		return err
	}
	extra, err := addOrganizations(ctx, h.opts.DataDir, h.cfg, len(h.orgs), n)
	if err != nil {
		return err
	}
	h.orgs = append(h.orgs, extra...)
	h.cfg.Temporal.TaskQueue = chaosTaskQueue
	for _, o := range extra {
		h.cfg.Organizations = append(h.cfg.Organizations, o.Organization)
	}
	workerConfig := filepath.Join(h.opts.DataDir, "chaos-worker.yaml")
	if err := config.WriteFile(workerConfig, h.cfg); err != nil {
		return err
	}
	h.worker = &process{
		name: "the worker",
		path: h.opts.Worker,
		args: []string{"--config", workerConfig},
		log:  filepath.Join(h.opts.DataDir, "worker.log"),
	}
	if err := h.restart(ctx, []*process{h.dev, h.worker}); err != nil {
		return err
	}
	h.say("added %d organizations to the sandbox; the worker runs on task queue %s with %s", n, chaosTaskQueue, workerConfig)
	return nil
}

// Layout says which processes run the changes.
func (h *Harness) Layout() string {
	if h.worker == nil {
		return "one process: Temporal, the AWS sandbox and the worker"
	}
	return "two processes: the dev default (Temporal and the AWS sandbox) and the worker"
}

// Organizations are the names every change rolls out over.
func (h *Harness) Organizations() []string {
	names := make([]string, len(h.orgs))
	for i, o := range h.orgs {
		names[i] = o.Name
	}
	return names
}

// Tail is the end of every process's log, for a failure message.
func (h *Harness) Tail() string {
	s := h.dev.tail()
	if h.worker != nil {
		s += "\n" + h.worker.tail()
	}
	return s
}

// Close stops the processes as an operator would.
func (h *Harness) Close() error {
	if h.client != nil {
		h.client.Close()
	}
	var errs []error
	if h.worker != nil {
		errs = append(errs, h.worker.stop(30*time.Second))
	}
	errs = append(errs, h.dev.stop(30*time.Second))
	return errors.Join(errs...)
}

// hit is what a kill of the scope takes down, the dev default first.
func (h *Harness) hit(scope Scope) []*process {
	switch {
	case h.worker == nil:
		return []*process{h.dev}
	case scope == KillDevDefault:
		return []*process{h.dev}
	case scope == KillWorker:
		return []*process{h.worker}
	}
	return []*process{h.dev, h.worker}
}

// kill SIGKILLs every process of the scope at once, then waits for them to
// be gone.
func (h *Harness) kill(scope Scope) error {
	ps := h.hit(scope)
	for _, p := range ps {
		if err := p.signal(syscall.SIGKILL); err != nil {
			return err
		}
	}
	for _, p := range ps {
		if err := p.wait(30 * time.Second); err != nil {
			return err
		}
	}
	return nil
}

// restart starts the processes again on the same data directory, the dev
// default first, and waits until Temporal and the AWS sandbox answer.
func (h *Harness) restart(ctx context.Context, ps []*process) error {
	for _, p := range ps {
		if err := p.start(); err != nil {
			return err
		}
		if p == h.dev {
			if err := h.waitDevDefault(ctx, func() bool { return h.client == nil || h.temporalAnswers(ctx) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// alive says which process of the harness exited without being killed.
func (h *Harness) alive() error {
	for _, p := range []*process{h.dev, h.worker} {
		if p != nil && p.hasExited() {
			return fmt.Errorf("%s exited on its own; %s", p.name, p.tail())
		}
	}
	return nil
}

// waitDevDefault waits until the AWS sandbox answers and ready reports
// true, then makes AWS slow again: the fault schedule lives in the
// sandbox's memory and a restart clears it.
func (h *Harness) waitDevDefault(ctx context.Context, ready func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for !h.sandboxAnswers(ctx) || !ready() {
		if h.dev.hasExited() {
			return fmt.Errorf("the dev default exited while starting; %s", h.dev.tail())
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return fmt.Errorf("the dev default was not ready within 2 minutes; %s", h.dev.tail())
		}
	}
	return h.slowAWS(ctx)
}

func (h *Harness) sandboxAnswers(ctx context.Context) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.endpoint+"/_sandbox/health", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (h *Harness) temporalAnswers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := h.client.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: h.cfg.Temporal.Namespace})
	return err == nil
}

// slowAWS puts the fault schedule of Options.Latency on the sandbox.
func (h *Harness) slowAWS(ctx context.Context) error {
	if h.opts.Latency <= 0 {
		return nil
	}
	seed := int64(h.opts.Seed & (1<<62 - 1))
	var faults []awssandbox.Fault
	for _, service := range []string{"organizations", "cloudtrail", "iam", "s3"} {
		faults = append(faults, awssandbox.Fault{Service: service, Latency: h.opts.Latency})
	}
	faults = append(faults, awssandbox.Fault{Latency: h.opts.Latency, Probability: 0.25})
	if err := awssandbox.PutFaults(ctx, h.endpoint, seed, faults); err != nil {
		return fmt.Errorf("slow the AWS sandbox down: %w", err)
	}
	return nil
}

// progress asks the change where it stands, again and again while the
// dev default starts or the worker is away, until ctx ends.
func (h *Harness) progress(ctx context.Context, changeID string) (workflows.ChangeProgress, error) {
	for {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		v, err := h.client.QueryWorkflow(qctx, changeID, "", workflows.QueryProgress)
		cancel()
		var p workflows.ChangeProgress
		if err == nil {
			if err = v.Get(&p); err == nil {
				return p, nil
			}
		}
		if err := h.alive(); err != nil {
			return p, err
		}
		if serr := sleep(ctx, 200*time.Millisecond); serr != nil {
			return p, fmt.Errorf("ask change %s for its progress: %w", changeID, err)
		}
	}
}

// phases are where the change's organizations stand, as their own
// workflows say in Temporal's visibility; organizations of waves not yet
// started are missing.
func (h *Harness) phases(ctx context.Context, changeID string) (map[string]workflows.Phase, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	query := fmt.Sprintf("%s = '%s' AND WorkflowType = '%s'", workflows.ChangeIDKey.GetName(), changeID, workflows.TargetWorkflowName)
	out := map[string]workflows.Phase{}
	var token []byte
	for {
		resp, err := h.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 100, NextPageToken: token})
		if err != nil {
			return out, fmt.Errorf("list the organizations of change %s: %w", changeID, err)
		}
		for _, e := range resp.Executions {
			fields := e.GetSearchAttributes().GetIndexedFields()
			var org, phase string
			if converter.GetDefaultDataConverter().FromPayload(fields[workflows.OrganizationKey.GetName()], &org) != nil ||
				converter.GetDefaultDataConverter().FromPayload(fields[workflows.PhaseKey.GetName()], &phase) != nil {
				continue
			}
			out[org] = workflows.Phase(phase)
		}
		if token = resp.NextPageToken; len(token) == 0 {
			return out, nil
		}
	}
}

func (h *Harness) say(format string, args ...any) {
	fmt.Fprintf(h.opts.Log, "%s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// loadConfig reads the configuration the dev default wrote, as the worker
// and the CLI read theirs.
func loadConfig(path string) (config.Config, error) {
	fs := pflag.NewFlagSet("chaos", pflag.ContinueOnError)
	config.RegisterFlags(fs)
	if err := fs.Set("config", path); err != nil {
		return config.Config{}, err
	}
	cfg, err := config.Load(config.LoadOptions{Flags: fs})
	if err != nil {
		return cfg, fmt.Errorf("read the dev default's configuration %s: %w", path, err)
	}
	return cfg, nil
}

// freePort asks the kernel for a port free on the loopback interface now;
// the dev default listens on it for every life of its process. It is
// devserver.FreePort, which the harness does not import: that would link
// Temporal's whole server into it, while the server runs in the process
// under test.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
