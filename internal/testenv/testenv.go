// Package testenv runs trailgate for integration tests, with real parts
// only: Temporal's own server in-process (SQLite in a temporary directory),
// the AWS sandbox behind an HTTP server, and a worker running trailgate's
// workflows and activities through the unmodified AWS SDK clients, which
// assume each organization's role from the operator account as in
// production.
package testenv

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awsclient"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/awssandbox/sandboxtest"
	"github.com/trailgate/trailgate/internal/census"
	"github.com/trailgate/trailgate/internal/devmode"
	"github.com/trailgate/trailgate/internal/devserver"
	"github.com/trailgate/trailgate/internal/proof"
	"github.com/trailgate/trailgate/internal/temporalclient"
	"github.com/trailgate/trailgate/workflows"
)

// Env is a running trailgate for one test.
type Env struct {
	// Client reaches the Temporal server of the test.
	Client client.Client
	// AWS is the sandbox; its Orgs are acme-prod, acme-staging and globex.
	AWS *sandboxtest.Env
	// Config is the configuration a user would write for this environment:
	// the Temporal address, the sandbox organizations with their roles
	// (each probed from, and delegating CloudTrail to, its first member
	// account, as in the dev default), the dev default's regions, the
	// demo's people (approvers alice and bob, CloudTrail administrator
	// carol, two approvals) and a managed organization trail.
	Config config.Config
	// Server is the embedded Temporal server.
	Server *devserver.Server
	// Key is the worker's proof key; Config.Identity.WorkerKey is its
	// public half.
	Key *proof.PrivateKey
	// Metrics is the worker's Prometheus endpoint, when Options ask for it.
	Metrics *temporalclient.Metrics

	t       testing.TB
	worker  worker.Worker
	dataDir string
	metrics client.MetricsHandler
}

// DefaultPropagationDelay is how long the sandbox takes, unless Options say
// otherwise, to show a change in its List* calls (trusted access, delegated
// administrators, event data stores), as AWS is eventually consistent: a
// change's verification must poll until AWS shows it.
const DefaultPropagationDelay = 2 * time.Second

// Options change the environment.
type Options struct {
	// Sandbox configures the AWS sandbox (faults, seed, propagation delay).
	// A zero PropagationDelay is DefaultPropagationDelay.
	Sandbox awssandbox.Options
	// Instant turns the propagation delay off: List* calls show every
	// change at once.
	Instant bool
	// Polling bounds verification; short intervals by default.
	Polling activities.Polling
	// Metrics serves the worker's metrics, the SDK's and trailgate's own,
	// on a free port, as metrics.address does.
	Metrics bool
}

// Start starts Temporal, the sandbox and a worker, and stops them when the
// test ends.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: starts Temporal's server")
	}
	e := &Env{t: t, dataDir: t.TempDir()}
	if opts.Metrics {
		m, err := temporalclient.ServeMetrics("127.0.0.1:0", slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Close(context.Background()) })
		e.Metrics, e.metrics = m, m.Handler
	}
	switch {
	case opts.Instant:
		opts.Sandbox.PropagationDelay = 0
	case opts.Sandbox.PropagationDelay == 0:
		opts.Sandbox.PropagationDelay = DefaultPropagationDelay
	}
	e.AWS = sandboxtest.Start(t, opts.Sandbox)
	key, err := proof.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	e.Key = key
	e.Config = e.config()
	e.startServer()
	e.StartWorker(opts.Polling)
	if opts.Metrics {
		e.takeCensus()
	}
	return e
}

// takeCensus sets the organizations-by-phase gauge as the worker does,
// more often, until the test ends.
func (e *Env) takeCensus() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		census.Run(ctx, e.Client, e.metrics, 250*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	e.t.Cleanup(func() { cancel(); <-done })
}

func (e *Env) config() config.Config {
	c := config.Default()
	c.Temporal.TaskQueue = "trailgate-test"
	c.AWS.EndpointURL = e.AWS.URL
	c.AWS.Regions = append([]string(nil), devmode.DevRegions...)
	for _, o := range e.AWS.Orgs {
		org := config.Organization{
			Name: o.Name, ManagementAccountID: o.ManagementAccountID, RoleARN: o.RoleARN, ExternalID: o.ExternalID,
		}
		// As in the dev default: the first member account is the
		// member-account probe and CloudTrail's delegated administrator.
		if len(o.MemberAccountIDs) > 0 {
			org.ProbeAccountID = o.MemberAccountIDs[0]
			org.DelegatedAdministrators = []string{o.MemberAccountIDs[0]}
		}
		c.Organizations = append(c.Organizations, org)
	}
	for _, p := range e.AWS.People {
		c.People = append(c.People, config.Person{Name: p.Name, Principals: []string{p.ARN}})
	}
	c.Identity.WorkerKey = e.Key.Public().String()
	c.Approvals.Required = 2
	c.Approvals.Approvers = []string{"alice", "bob"}
	c.Approvals.CloudTrailAdmins = []string{"carol"}
	c.Trail = config.Trail{Name: "trailgate-org-trail", Bucket: "trailgate-org-trail-" + config.BucketAccountPlaceholder, MultiRegion: true, LogFileValidation: true}
	return c
}

func (e *Env) startServer() {
	e.t.Helper()
	port, err := devserver.FreePort("127.0.0.1")
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e.Server, err = devserver.Start(ctx, devserver.Options{
		DataDir: e.dataDir, FrontendPort: port, Namespace: e.Config.Temporal.Namespace,
		SearchAttributes: workflows.SearchAttributes(),
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		e.t.Fatalf("start Temporal: %v", err)
	}
	e.Config.Temporal.Address = e.Server.FrontendAddress()
	e.Client, err = client.Dial(client.Options{
		HostPort: e.Server.FrontendAddress(), Namespace: e.Config.Temporal.Namespace,
		Logger: sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	})
	if err != nil {
		e.t.Fatalf("connect to Temporal: %v", err)
	}
	e.t.Cleanup(func() {
		e.Client.Close()
		_ = e.Server.Stop()
	})
}

// StartWorker starts a worker with trailgate's workflows and activities; the
// activities act as the operator account and assume each organization's
// role. It stops when the test ends, or earlier with StopWorker.
func (e *Env) StartWorker(p activities.Polling) {
	e.t.Helper()
	if p.First == 0 {
		p = activities.Polling{First: 50 * time.Millisecond, Max: time.Second}
	}
	acts := activities.NewWithFactory(awsclient.NewFactoryFromConfig(e.AWS.OperatorConfig(), e.metrics), activities.AuthorityFromConfig(e.Config, e.Key), p)
	c := e.Client
	if e.metrics != nil {
		// The worker records its metrics through its client's handler.
		var err error
		if c, err = client.NewClientFromExisting(e.Client, client.Options{
			Namespace: e.Config.Temporal.Namespace, MetricsHandler: e.metrics,
			Logger: sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		}); err != nil {
			e.t.Fatalf("connect the worker to Temporal: %v", err)
		}
		e.t.Cleanup(c.Close)
	}
	w := worker.New(c, e.Config.Temporal.TaskQueue, worker.Options{})
	workflows.Register(w)
	w.RegisterActivity(activities.WithTemporal(acts, c))
	if err := w.Start(); err != nil {
		e.t.Fatalf("start worker: %v", err)
	}
	e.worker = w
	e.t.Cleanup(e.StopWorker)
}

// StopWorker stops the worker, as a crash or a deploy would.
func (e *Env) StopWorker() {
	if e.worker != nil {
		e.worker.Stop()
		e.worker = nil
	}
}

// Org returns the sandbox organization with the name, failing the test when
// there is none.
func (e *Env) Org(name string) awssandbox.DevOrganization {
	e.t.Helper()
	for _, o := range e.AWS.Orgs {
		if o.Name == name {
			return o
		}
	}
	e.t.Fatalf("no sandbox organization %s", name)
	return awssandbox.DevOrganization{}
}
