package config_test

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/gobuild"
	"github.com/trailgate/trailgate/internal/topology"
	"github.com/trailgate/trailgate/workflows"
)

// composeService is the part of a docker-compose service this test reads.
type composeService struct {
	Image       string `yaml:"image"`
	Environment any    `yaml:"environment"`
	Ports       []any  `yaml:"ports"`
	Command     any    `yaml:"command"`
}

// isSandbox says whether the service runs `trailgate sandbox`.
func (s composeService) isSandbox() bool {
	args, ok := s.Command.([]any)
	return ok && len(args) > 0 && args[0] == "sandbox"
}

// published is one published port: host port → container port.
type published struct{ host, container int }

var composeVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}`)

// interpolate resolves ${VAR:-default} as docker compose does for a user who
// has set nothing.
func interpolate(s string) string {
	return composeVar.ReplaceAllStringFunc(s, func(m string) string {
		return composeVar.FindStringSubmatch(m)[2]
	})
}

func (s composeService) env(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	switch e := s.Environment.(type) {
	case nil:
	case map[string]any:
		for k, v := range e {
			if v == nil {
				out[k] = ""
			} else {
				out[k] = interpolate(fmt.Sprint(v))
			}
		}
	case []any:
		for _, item := range e {
			k, v, _ := strings.Cut(fmt.Sprint(item), "=")
			out[k] = interpolate(v)
		}
	default:
		t.Fatalf("environment of type %T", e)
	}
	return out
}

func (s composeService) ports(t *testing.T) []published {
	t.Helper()
	var out []published
	for _, p := range s.Ports {
		switch p := p.(type) {
		case string:
			parts := strings.Split(strings.TrimSuffix(interpolate(p), "/tcp"), ":")
			if len(parts) < 2 {
				t.Fatalf("port %q publishes on a random host port; publish it on a fixed one", p)
			}
			host, err1 := strconv.Atoi(parts[len(parts)-2])
			container, err2 := strconv.Atoi(parts[len(parts)-1])
			if err1 != nil || err2 != nil {
				t.Fatalf("port %q: cannot read it", p)
			}
			out = append(out, published{host, container})
		case map[string]any:
			host, err1 := strconv.Atoi(fmt.Sprint(p["published"]))
			container, err2 := strconv.Atoi(fmt.Sprint(p["target"]))
			if err1 != nil || err2 != nil {
				t.Fatalf("port %v: cannot read it", p)
			}
			out = append(out, published{host, container})
		default:
			t.Fatalf("port %v of type %T", p, p)
		}
	}
	return out
}

func portOf(t *testing.T, hostport string) int {
	t.Helper()
	if u, err := url.Parse(hostport); err == nil && u.Host != "" {
		hostport = u.Host
	}
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatalf("%q has no port: %v", hostport, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func loadCompose(t *testing.T) map[string]composeService {
	t.Helper()
	data, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]composeService `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	if len(f.Services) == 0 {
		t.Fatal("docker-compose.yml has no services")
	}
	return f.Services
}

// The compose file speaks the same configuration as everything else: every
// TRAILGATE_ variable is a real key, and the values load and validate.
func TestComposeUsesRealConfiguration(t *testing.T) {
	known := map[string]bool{config.ConfigFileEnv: true}
	for _, k := range config.Keys() {
		if k.Env != "" {
			known[k.Env] = true
		}
	}
	var workers []string
	for name, svc := range loadCompose(t) {
		env := svc.env(t)
		var trailgate []string
		for k := range env {
			if strings.HasPrefix(k, config.EnvPrefix) {
				trailgate = append(trailgate, k)
				if !known[k] {
					t.Errorf("docker-compose.yml: service %s sets %s, which is not a trailgate configuration key", name, k)
				}
			}
		}
		if len(trailgate) == 0 {
			continue
		}
		workers = append(workers, name)
		sort.Strings(trailgate)
		t.Run(name, func(t *testing.T) {
			dir := isolate(t)
			for _, k := range trailgate {
				t.Setenv(k, env[k])
			}
			c, err := config.Load(config.LoadOptions{WorkDir: dir})
			if err != nil {
				t.Fatalf("docker-compose.yml: service %s: %v", name, err)
			}
			if err := c.ValidateWorker(); err != nil {
				t.Errorf("docker-compose.yml: service %s cannot run a worker: %v", name, err)
			}
			if env["TRAILGATE_TEMPORAL_ADDRESS"] == "" {
				t.Errorf("service %s does not set TRAILGATE_TEMPORAL_ADDRESS; inside compose the default 127.0.0.1 is the container itself", name)
			} else if got, want := portOf(t, c.Temporal.Address), portOf(t, config.Default().Temporal.Address); got != want {
				t.Errorf("service %s reaches Temporal on port %d, want the frontend port %d", name, got, want)
			}
		})
	}
	if len(workers) == 0 {
		t.Error("docker-compose.yml: no service is configured with TRAILGATE_ variables; the worker should be")
	}
}

// Users switch between the embedded default and compose without flags: the
// published ports are the defaults.
func TestComposePortsAreTheDefaults(t *testing.T) {
	d := config.Default()
	if portOf(t, d.Temporal.Address) != d.Dev.TemporalPort || portOf(t, d.Temporal.UIURL) != d.Dev.UIPort {
		t.Fatalf("defaults disagree with themselves: temporal.address %s, dev.temporal_port %d, temporal.ui_url %s, dev.ui_port %d",
			d.Temporal.Address, d.Dev.TemporalPort, d.Temporal.UIURL, d.Dev.UIPort)
	}
	var sawFrontend, sawUI bool
	for name, svc := range loadCompose(t) {
		env := svc.env(t)
		for _, p := range svc.ports(t) {
			switch {
			case strings.HasPrefix(svc.Image, "temporalio/server:") || strings.HasPrefix(svc.Image, "temporalio/auto-setup:"):
				if p.container == 7233 {
					sawFrontend = true
					if p.host != d.Dev.TemporalPort {
						t.Errorf("service %s publishes the Temporal frontend on %d, want %d (temporal.address %s)", name, p.host, d.Dev.TemporalPort, d.Temporal.Address)
					}
					continue
				}
			case strings.HasPrefix(svc.Image, "temporalio/ui:"):
				if p.container == 8080 {
					sawUI = true
					if p.host != d.Dev.UIPort {
						t.Errorf("service %s publishes the Temporal UI on %d, want %d (temporal.ui_url %s)", name, p.host, d.Dev.UIPort, d.Temporal.UIURL)
					}
					continue
				}
			}
			if svc.isSandbox() && p.container == d.Dev.SandboxPort {
				if p.host != d.Dev.SandboxPort {
					t.Errorf("service %s publishes the AWS sandbox on %d, want %d (dev.sandbox_port)", name, p.host, d.Dev.SandboxPort)
				}
				continue
			}
			// Any other published port is one of the service's own
			// configured addresses, on the same port outside and inside.
			ok := false
			for k, v := range env {
				if strings.HasPrefix(k, config.EnvPrefix) && strings.HasSuffix(k, "_ADDRESS") && k != "TRAILGATE_TEMPORAL_ADDRESS" &&
					portOf(t, v) == p.container && p.host == p.container {
					ok = true
				}
			}
			if !ok {
				t.Errorf("service %s publishes %d:%d, which is neither a default port nor one of its TRAILGATE_*_ADDRESS ports", name, p.host, p.container)
			}
		}
		if u := env["TRAILGATE_TEMPORAL_UI_URL"]; u != "" && portOf(t, u) != d.Dev.UIPort {
			t.Errorf("service %s links to the UI on port %d, want %d", name, portOf(t, u), d.Dev.UIPort)
		}
	}
	if !sawFrontend || !sawUI {
		t.Errorf("docker-compose.yml publishes the Temporal frontend: %v, the UI: %v; want both", sawFrontend, sawUI)
	}
}

// The compose file registers every search attribute the workflows set, so
// that a change or an audit never fails to upsert one there.
func TestComposeRegistersEverySearchAttribute(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, typ := range workflows.SearchAttributes() {
		want := fmt.Sprintf("--name %s --type %s", name, strings.TrimPrefix(typ.String(), "INDEXED_VALUE_TYPE_"))
		if !strings.Contains(strings.ToLower(string(data)), strings.ToLower(want)) {
			t.Errorf("docker-compose.yml does not register %s: want %q in temporal-setup", name, want)
		}
	}
}

// composeImage is the repository and the tag a user who sets nothing runs.
func composeImage(svc composeService) (repo, tag string) {
	repo, tag, _ = strings.Cut(interpolate(svc.Image), ":")
	return repo, tag
}

// servicesOf are the compose services that run image repo.
func servicesOf(t *testing.T, services map[string]composeService, repo string) []string {
	t.Helper()
	var names []string
	for name, svc := range services {
		if r, _ := composeImage(svc); r == repo {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		t.Fatalf("docker-compose.yml runs no %s image", repo)
	}
	sort.Strings(names)
	return names
}

// The compose file runs what make test-postgres runs (internal/topology):
// PostgreSQL of the same major version, and Temporal's server and tools at
// the version go.mod builds them from; the UI at the version the embedded
// default serves.
func TestComposeRunsTheVersionsMakeTestPostgresRuns(t *testing.T) {
	services := loadCompose(t)
	temporal, err := gobuild.Version(topology.TemporalModule)
	if err != nil {
		t.Fatal(err)
	}
	ui, err := gobuild.Version("github.com/temporalio/ui-server/v2")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"temporalio/server":      strings.TrimPrefix(temporal, "v"),
		"temporalio/admin-tools": strings.TrimPrefix(temporal, "v"),
		"temporalio/ui":          strings.TrimPrefix(ui, "v"),
	}
	for repo, tag := range want {
		for _, name := range servicesOf(t, services, repo) {
			if _, got := composeImage(services[name]); got != tag {
				t.Errorf("docker-compose.yml: service %s runs %s:%s; go.mod builds %s, so pin %s:%s", name, repo, got, tag, repo, tag)
			}
		}
	}
	for _, name := range servicesOf(t, services, "postgres") {
		_, tag := composeImage(services[name])
		if major, _, _ := strings.Cut(tag, "."); major != strconv.Itoa(topology.PostgresMajor) {
			t.Errorf("docker-compose.yml: service %s runs postgres:%s; make test-postgres runs PostgreSQL %d (topology.PostgresMajor)", name, tag, topology.PostgresMajor)
		}
	}
}

// The compose file sets Temporal's schema up with the same commands as
// make test-postgres, and points Temporal at PostgreSQL as it does.
func TestComposeSetsTemporalUpAsMakeTestPostgresDoes(t *testing.T) {
	services := loadCompose(t)
	var script strings.Builder
	for _, name := range servicesOf(t, services, "temporalio/admin-tools") {
		fmt.Fprint(&script, services[name].Command)
	}
	for _, step := range topology.SchemaSteps("postgresql", 5432) {
		line := "temporal-sql-tool " + strings.Join(step, " ")
		if !strings.Contains(script.String(), line) {
			t.Errorf("docker-compose.yml does not run %q, as make test-postgres does", line)
		}
	}
	if want := fmt.Sprintf("--retention %s", strings.TrimSuffix(topology.Retention.String(), "0m0s")); !strings.Contains(script.String(), want) {
		t.Errorf("docker-compose.yml does not create the namespace with %q, as make test-postgres does", want)
	}
	for _, name := range servicesOf(t, services, "temporalio/server") {
		env := services[name].env(t)
		for k, want := range map[string]string{"DB": topology.PostgresPlugin, "POSTGRES_USER": topology.PostgresUser, "POSTGRES_PWD": topology.PostgresPassword} {
			if env[k] != want {
				t.Errorf("docker-compose.yml: service %s sets %s=%q, want %q as make test-postgres", name, k, env[k], want)
			}
		}
	}
	for _, name := range servicesOf(t, services, "postgres") {
		env := services[name].env(t)
		if env["POSTGRES_USER"] != topology.PostgresUser || env["POSTGRES_PASSWORD"] != topology.PostgresPassword {
			t.Errorf("docker-compose.yml: service %s makes the role %s/%s, want %s/%s as make test-postgres", name,
				env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], topology.PostgresUser, topology.PostgresPassword)
		}
	}
}

// notInTopology are the worker's variables that make test-postgres leaves
// out, and why.
var notInTopology = map[string]string{
	"TRAILGATE_TEMPORAL_UI_URL": "make test-postgres runs no UI; the browser test checks the UI against the embedded default",
}

// The compose worker is configured with the variables make test-postgres
// gives its workers: the same names, and the same values where neither
// depends on where the services run.
func TestComposeConfiguresTheWorkerAsMakeTestPostgresDoes(t *testing.T) {
	services := loadCompose(t)
	topo := topology.WorkerEnvironment("temporal:7233", "/var/lib/trailgate/trailgate.yaml", "/var/lib/trailgate/proof.key", "0.0.0.0:9090")
	worker, ok := services["worker"]
	if !ok {
		t.Fatal("docker-compose.yml has no worker service")
	}
	compose := worker.env(t)
	for k, v := range topo {
		got, ok := compose[k]
		switch {
		case !ok:
			t.Errorf("docker-compose.yml's worker does not set %s, which make test-postgres sets (%s)", k, v)
		case got != "" && got != v && k != "TRAILGATE_CONFIG":
			t.Errorf("docker-compose.yml's worker sets %s=%q, make test-postgres %q", k, got, v)
		}
	}
	for k, v := range compose {
		if !strings.HasPrefix(k, config.EnvPrefix) || v == "" {
			continue // the user's to set
		}
		if _, ok := topo[k]; !ok && notInTopology[k] == "" {
			t.Errorf("docker-compose.yml's worker sets %s=%q, which make test-postgres does not give its workers (topology.WorkerEnvironment)", k, v)
		}
	}
}

// The compose sandbox serves as make test-postgres's does, on the embedded
// default's sandbox port, for the compose Temporal.
func TestComposeServesTheSandboxAsMakeTestPostgresDoes(t *testing.T) {
	svc, ok := loadCompose(t)["sandbox"]
	if !ok || !svc.isSandbox() {
		t.Fatal("docker-compose.yml has no sandbox service that runs `trailgate sandbox`")
	}
	var args []string
	for _, a := range svc.Command.([]any) {
		args = append(args, interpolate(fmt.Sprint(a)))
	}
	flags := map[string]string{}
	for _, a := range args[1:] {
		k, v, _ := strings.Cut(a, "=")
		flags[k] = v
	}
	for _, a := range topology.SandboxArgs("/data", 1, 1, "temporal:7233")[1:] {
		k, _, _ := strings.Cut(a, "=")
		if _, ok := flags[k]; !ok {
			t.Errorf("docker-compose.yml's sandbox does not pass %s, which make test-postgres passes", k)
		}
	}
	if got, want := flags["--port"], strconv.Itoa(config.Default().Dev.SandboxPort); got != want {
		t.Errorf("docker-compose.yml's sandbox serves on port %s, want %s (dev.sandbox_port)", got, want)
	}
	if flags["--temporal-address"] != "temporal:7233" {
		t.Errorf("docker-compose.yml's sandbox points trailgate at %s, want the compose Temporal, temporal:7233", flags["--temporal-address"])
	}
}
