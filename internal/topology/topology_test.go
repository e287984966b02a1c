package topology_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/devserver"
	"github.com/trailgate/trailgate/internal/gobuild"
	"github.com/trailgate/trailgate/internal/topology"
	"github.com/trailgate/trailgate/workflows"
)

// requireEnv, set by make test-postgres, turns a machine without
// PostgreSQL into a failure; make test skips there.
const requireEnv = "TRAILGATE_TEST_POSTGRES"

// organizations is how many sandbox organizations the change spans.
const orgCount = 20

// A change over 20 organizations, on Temporal's own server on PostgreSQL,
// worked by two worker processes of which one is killed mid-rollout,
// completes, and AWS agrees with it.
func TestAChangeOnPostgresOutlivesAWorkerKilledMidRollout(t *testing.T) {
	if _, err := topology.FindPostgres(); err != nil {
		if os.Getenv(requireEnv) != "" {
			t.Fatal(err)
		}
		t.Skipf("%v (make test-postgres fails here instead of skipping)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	dir := t.TempDir()
	step := func(format string, args ...any) { t.Logf("topology: "+format, args...) }

	start := time.Now()
	bins, err := topology.Build(filepath.Join(dir, "bin"))
	if err != nil {
		t.Fatal(err)
	}
	version, err := gobuild.Version(topology.TemporalModule)
	if err != nil {
		t.Fatal(err)
	}
	step("built trailgate-worker, trailgate, and Temporal's server and temporal-sql-tool (%s %s) in %s", topology.TemporalModule, version, since(start))

	pg, err := topology.StartPostgres(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	step("%s: pid %d, 127.0.0.1:%d", pg.Version, pg.PID(), pg.Port)

	start = time.Now()
	if err := topology.SetupSchema(ctx, bins.SQLTool, pg, dir); err != nil {
		t.Fatal(err)
	}
	step("temporal-sql-tool set up the temporal and temporal_visibility databases in %s", since(start))

	start = time.Now()
	temporal, err := topology.StartTemporal(ctx, bins.TemporalServer, dir, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer temporal.Close()
	if err := temporal.PrepareNamespace(ctx, "default", workflows.SearchAttributes()); err != nil {
		t.Fatal(err)
	}
	step("%s: pid %d, frontend %s, namespace default with trailgate's search attributes, ready in %s", temporal.Version, temporal.PID(), temporal.Address, since(start))

	sandbox, err := topology.StartSandbox(ctx, bins, dir, orgCount, temporal.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer sandbox.Close()
	step("AWS sandbox: pid %d, %s, %d organizations, configuration %s", sandbox.PID(), sandbox.Ready.Endpoint, sandbox.Ready.Organizations, sandbox.Ready.ConfigFile)
	t.Setenv(config.ConfigFileEnv, sandbox.Ready.ConfigFile)
	cfg, err := config.Load(config.LoadOptions{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}

	c, err := client.Dial(client.Options{HostPort: temporal.Address, Namespace: cfg.Temporal.Namespace, Logger: quiet{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var workers []*topology.Process
	for i := range 2 {
		ports, err := devserver.FreePorts("127.0.0.1", 1)
		if err != nil {
			t.Fatal(err)
		}
		env := topology.WorkerEnvironment(temporal.Address, sandbox.Ready.ConfigFile, cfg.Identity.ProofKeyFile, fmt.Sprintf("127.0.0.1:%d", ports[0]))
		w, err := topology.StartWorker(bins, fmt.Sprintf("worker %d", i+1), dir, env)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = w.Stop(syscall.SIGTERM, 30*time.Second) }()
		workers = append(workers, w)
	}
	awaitPollers(ctx, t, c, cfg.Temporal.TaskQueue, workers)
	step("two workers poll task queue %s: pids %d and %d", cfg.Temporal.TaskQueue, workers[0].PID(), workers[1].PID())

	// AWS answers slowly, as it does under load, so that the rollout is
	// still under way when a worker dies.
	var slow []awssandbox.Fault
	for _, service := range []string{"organizations", "cloudtrail", "iam", "s3"} {
		slow = append(slow, awssandbox.Fault{Service: service, Latency: 150 * time.Millisecond})
	}
	if err := awssandbox.PutFaults(ctx, sandbox.Ready.Endpoint, 1, slow); err != nil {
		t.Fatal(err)
	}

	const id = "postgres-topology"
	var stderr bytes.Buffer
	cli := func(args ...string) []byte {
		t.Helper()
		cmd := exec.CommandContext(ctx, bins.CLI, args...)
		stderr.Reset()
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("trailgate %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
		}
		return out
	}
	start = time.Now()
	cli("enable", "--all", "--change-id", id, "--profile", "dave", "--reason", "the production topology, proven", "--concurrency", "5")
	cli("status", id, "--watch", "--until-gate")
	step("change %s over %d organizations reached its approval gate in %s", id, orgCount, since(start))
	cli("approve", id, "--profile", "alice", "--comment", "looks right")
	cli("approve", id, "--profile", "bob", "--comment", "looks right")
	released := time.Now()

	// Kill a worker once some organizations are done and the rest are not.
	var p workflows.ChangeProgress
	for {
		if err := json.Unmarshal(cli("status", id, "--json"), &p); err != nil {
			t.Fatal(err)
		}
		if p.Done() >= 3 && p.Done() < len(p.Targets) {
			break
		}
		if p.Phase.Final() || p.Done() == len(p.Targets) {
			t.Fatalf("change %s reached %s (%d of %d organizations done) before a worker could be killed mid-rollout", id, p.Phase, p.Done(), len(p.Targets))
		}
		time.Sleep(100 * time.Millisecond)
	}
	killed := workers[0]
	killed.Kill()
	step("SIGKILL to %s (pid %d) %s after approval, with %d of %d organizations done", killed.Name, killed.PID(), since(released), p.Done(), len(p.Targets))

	cli("status", id, "--watch")
	if stderr.Len() > 0 {
		step("trailgate status --watch, following on: %s", strings.TrimSpace(stderr.String()))
	}
	if err := json.Unmarshal(cli("status", id, "--json"), &p); err != nil {
		t.Fatal(err)
	}
	if p.Phase != workflows.PhaseSucceeded {
		t.Fatalf("change %s ended %s, want succeeded", id, p.Phase)
	}
	for _, target := range p.Targets {
		if target.Phase != workflows.PhaseSucceeded {
			t.Errorf("organization %s ended %s, want succeeded", target.Organization, target.Phase)
		}
	}
	step("change %s succeeded over %d organizations, %s after approval, on worker %d alone after the kill", id, len(p.Targets), since(released), workers[1].PID())

	checkAWS(ctx, t, cfg)
	step("AWS agrees: every organization has trusted access for %s and its organization trail %s", activities.ServicePrincipal, cfg.Trail.Name)

	for _, w := range workers[1:] {
		if err := w.Stop(syscall.SIGTERM, 30*time.Second); err != nil {
			t.Errorf("%s: %v", w.Name, err)
		}
	}
	sandbox.Close()
	temporal.Close()
	pg.Close()
	step("stopped the workers, the sandbox, Temporal and PostgreSQL")
}

// awaitPollers waits until every worker polls the task queue.
func awaitPollers(ctx context.Context, t *testing.T, c client.Client, queue string, workers []*topology.Process) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		resp, err := c.DescribeTaskQueue(ctx, queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err == nil {
			var pids []string
			for _, p := range resp.GetPollers() {
				pid, _, _ := strings.Cut(p.GetIdentity(), "@")
				pids = append(pids, pid)
			}
			all := true
			for _, w := range workers {
				all = all && slices.Contains(pids, fmt.Sprint(w.PID()))
			}
			if all {
				return
			}
		}
		for _, w := range workers {
			select {
			case <-w.Exited():
				t.Fatalf("%s (pid %d) exited before it polled; the end of %s:\n%s", w.Name, w.PID(), w.Log, w.Tail(20))
			default:
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the workers did not all poll task queue %s within 2 minutes: %v", queue, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// checkAWS reads every organization back through the AWS SDK, as its
// management account: trusted access for CloudTrail, and the managed
// organization trail.
func checkAWS(ctx context.Context, t *testing.T, cfg config.Config) {
	t.Helper()
	for _, o := range cfg.Organizations {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx,
			awsconfig.WithSharedConfigFiles([]string{cfg.AWS.ConfigFile}),
			awsconfig.WithSharedCredentialsFiles([]string{cfg.AWS.CredentialsFile}),
			awsconfig.WithSharedConfigProfile(o.Name+"-management"))
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			err = trustedAccessAndTrail(ctx, awsCfg, cfg.Trail.Name)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("organization %s: %v", o.Name, err)
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

func trustedAccessAndTrail(ctx context.Context, cfg aws.Config, trail string) error {
	access, err := organizations.NewFromConfig(cfg).ListAWSServiceAccessForOrganization(ctx, &organizations.ListAWSServiceAccessForOrganizationInput{})
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(access.EnabledServicePrincipals, func(p orgtypes.EnabledServicePrincipal) bool {
		return aws.ToString(p.ServicePrincipal) == activities.ServicePrincipal
	}) {
		return errors.New("AWS does not list trusted access for " + activities.ServicePrincipal)
	}
	trails, err := cloudtrail.NewFromConfig(cfg).DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
	if err != nil {
		return err
	}
	for _, tr := range trails.TrailList {
		if aws.ToString(tr.Name) == trail && aws.ToBool(tr.IsOrganizationTrail) {
			return nil
		}
	}
	return fmt.Errorf("AWS has no organization trail %s", trail)
}

func since(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Millisecond) }

// quiet drops the Temporal client's logs.
type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}
