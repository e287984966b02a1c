package topology

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/trailgate/trailgate/internal/devserver"
)

// Temporal's SQL plugin for PostgreSQL, and its two databases, as
// docker-compose.yml sets them up.
const (
	// PostgresPlugin is Temporal's SQL plugin for PostgreSQL.
	PostgresPlugin     = "postgres12"
	temporalDB         = "temporal"
	visibilityDB       = "temporal_visibility"
	temporalStartLimit = 2 * time.Minute
)

// SchemaSteps are the temporal-sql-tool commands that create Temporal's
// two databases on the PostgreSQL at host:port and set their schema up to
// the newest version, with the schema embedded in the tool. The password
// comes from SQL_PASSWORD. docker-compose.yml's temporal-schema runs the
// same.
func SchemaSteps(host string, port int) [][]string {
	var steps [][]string
	for _, db := range []struct{ name, schema string }{
		{temporalDB, "postgresql/v12/temporal"},
		{visibilityDB, "postgresql/v12/visibility"},
	} {
		for _, step := range [][]string{
			{"create-database"},
			{"setup-schema", "-v", "0.0"},
			{"update-schema", "--schema-name", db.schema},
		} {
			steps = append(steps, append([]string{"--plugin", PostgresPlugin, "--ep", host, "-p", strconv.Itoa(port),
				"-u", PostgresUser, "--db", db.name}, step...))
		}
	}
	return steps
}

// SetupSchema runs SchemaSteps on pg with Temporal's own SQL tool.
func SetupSchema(ctx context.Context, sqlTool string, pg *Postgres, logDir string) error {
	log, err := os.OpenFile(filepath.Join(logDir, "temporal-sql-tool.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	for _, args := range SchemaSteps("127.0.0.1", pg.Port) {
		cmd := exec.CommandContext(ctx, sqlTool, args...)
		cmd.Env = append(os.Environ(), "SQL_PASSWORD="+PostgresPassword)
		cmd.Stdout, cmd.Stderr = log, log
		fmt.Fprintf(log, "$ temporal-sql-tool %s\n", strings.Join(args, " "))
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("temporal-sql-tool %s: %w; see %s", strings.Join(args, " "), err, log.Name())
		}
	}
	return nil
}

// Retention is how long the namespace keeps closed workflows, here and in
// docker-compose.yml: 30 days, for records and audits to look back on.
const Retention = 720 * time.Hour

// Temporal is Temporal's own server, all its services in one process, on
// PostgreSQL.
type Temporal struct {
	*Process
	// Address is the frontend's host:port.
	Address string
	Version string
}

// serverConfig is the server's configuration file: PostgreSQL for
// persistence and visibility, every port on the loopback interface.
var serverConfig = template.Must(template.New("temporal.yaml").Parse(`# Temporal's server, on PostgreSQL; written by trailgate's topology.
log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 4
  datastores:
{{- range $store, $db := .Databases}}
    {{$store}}:
      sql:
        pluginName: {{$.Plugin}}
        databaseName: {{$db}}
        connectAddr: {{$.Postgres}}
        connectProtocol: tcp
        user: {{$.User}}
        password: {{$.Password}}
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: 1h
{{- end}}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
services:
{{- range $name, $p := .Services}}
  {{$name}}:
    rpc:
      grpcPort: {{$p.GRPC}}
      membershipPort: {{$p.Membership}}
      bindOnIP: 127.0.0.1
{{- if $p.HTTP}}
      httpPort: {{$p.HTTP}}
{{- end}}
{{- end}}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: 127.0.0.1:{{.Frontend}}
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: {{.DynamicConfig}}
  pollInterval: 10s
`))

// dynamicConfig makes a new namespace and its search attributes usable at
// once, where a cluster would take up to ten seconds to see them.
const dynamicConfig = `system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
`

type servicePorts struct{ GRPC, Membership, HTTP int }

// StartTemporal writes the server's configuration into dir and starts
// Temporal's server binary on pg; it returns once the frontend answers.
func StartTemporal(ctx context.Context, server, dir string, pg *Postgres) (*Temporal, error) {
	version, err := versionOf(server, "--version")
	if err != nil {
		return nil, err
	}
	ports, err := devserver.FreePorts("127.0.0.1", 9)
	if err != nil {
		return nil, err
	}
	services := map[string]servicePorts{
		"frontend": {ports[0], ports[1], ports[2]},
		"history":  {ports[3], ports[4], 0},
		"matching": {ports[5], ports[6], 0},
		"worker":   {ports[7], ports[8], 0},
	}
	dynamic := filepath.Join(dir, "dynamicconfig.yaml")
	if err := os.WriteFile(dynamic, []byte(dynamicConfig), 0o644); err != nil {
		return nil, err
	}
	confFile := filepath.Join(dir, "temporal.yaml")
	f, err := os.Create(confFile)
	if err != nil {
		return nil, err
	}
	err = serverConfig.Execute(f, map[string]any{
		"Databases":     map[string]string{"default": temporalDB, "visibility": visibilityDB},
		"Plugin":        PostgresPlugin,
		"Postgres":      pg.Address(),
		"User":          PostgresUser,
		"Password":      PostgresPassword,
		"Services":      services,
		"Frontend":      services["frontend"].GRPC,
		"DynamicConfig": dynamic,
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", confFile, err)
	}
	cmd := exec.Command(server, "--config-file", confFile, "--allow-no-auth", "start")
	cmd.Dir = dir
	p, err := startProcess("Temporal server", filepath.Join(dir, "temporal-server.log"), cmd)
	if err != nil {
		return nil, err
	}
	t := &Temporal{Process: p, Address: "127.0.0.1:" + strconv.Itoa(services["frontend"].GRPC), Version: version}
	if err := t.awaitFrontend(ctx); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// awaitFrontend waits until the frontend answers a health check.
func (t *Temporal) awaitFrontend(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, temporalStartLimit)
	defer cancel()
	var last error
	for {
		c, err := client.DialContext(ctx, client.Options{HostPort: t.Address, Logger: quiet{}})
		if err == nil {
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			c.Close()
			if err == nil {
				return nil
			}
		}
		last = err
		select {
		case <-t.Exited():
			return t.exitedEarly("its frontend")
		case <-ctx.Done():
			return fmt.Errorf("the Temporal frontend at %s did not answer within %s: %v; the end of %s:\n%s", t.Address, temporalStartLimit, last, t.Log, t.Tail(10))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// PrepareNamespace registers namespace, unless it exists, and the search
// attributes attrs on it, as docker-compose.yml's temporal-setup does, and
// returns once both are in use.
func (t *Temporal) PrepareNamespace(ctx context.Context, namespace string, attrs map[string]enumspb.IndexedValueType) error {
	c, err := client.DialContext(ctx, client.Options{HostPort: t.Address, Logger: quiet{}})
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, temporalStartLimit)
	defer cancel()
	_, err = c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        namespace,
		WorkflowExecutionRetentionPeriod: durationpb.New(Retention),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("register namespace %s: %w", namespace, err)
	}
	// The frontend learns of a new namespace from its cache, a few seconds
	// later; until then, adding search attributes says it is not found.
	for {
		_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
			Namespace:        namespace,
			SearchAttributes: attrs,
		})
		var already *serviceerror.AlreadyExists
		if err == nil || errors.As(err, &already) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("add trailgate's search attributes to namespace %s: %w", namespace, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
	for {
		list, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
		if err == nil && hasAll(list.GetCustomAttributes(), attrs) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("namespace %s never listed trailgate's search attributes: %v", namespace, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func hasAll(have, want map[string]enumspb.IndexedValueType) bool {
	for name, typ := range want {
		if have[name] != typ {
			return false
		}
	}
	return true
}

// Close stops the server.
func (t *Temporal) Close() {
	_ = t.Stop(syscall.SIGTERM, 30*time.Second)
}

// quiet drops the Temporal client's logs.
type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}
