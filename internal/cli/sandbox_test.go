package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/spf13/pflag"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awsclient"
	"github.com/trailgate/trailgate/internal/cli"
)

// sandboxRun is `trailgate sandbox` running in-process until its context
// is cancelled.
type sandboxRun struct {
	cancel context.CancelFunc
	lines  chan string
	code   chan int
	stderr *strings.Builder
}

func startSandbox(t *testing.T, args ...string) *sandboxRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, in := io.Pipe()
	r := &sandboxRun{cancel: cancel, lines: make(chan string, 100), code: make(chan int, 1), stderr: &strings.Builder{}}
	go func() {
		code := cli.Main(ctx, append([]string{"sandbox"}, args...), in, r.stderr)
		in.Close()
		r.code <- code
	}()
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			r.lines <- s.Text()
		}
		close(r.lines)
	}()
	t.Cleanup(cancel)
	return r
}

// readyLine waits for the first line `trailgate sandbox` prints.
func (r *sandboxRun) readyLine(t *testing.T) string {
	t.Helper()
	select {
	case line, ok := <-r.lines:
		if !ok {
			t.Fatalf("trailgate sandbox ended before it was ready (exit status %d): %s", <-r.code, r.stderr)
		}
		return line
	case <-time.After(time.Minute):
		t.Fatalf("trailgate sandbox printed nothing in a minute: %s", r.stderr)
	}
	return ""
}

// stop sends what SIGINT would and returns the exit status.
func (r *sandboxRun) stop(t *testing.T) int {
	t.Helper()
	r.cancel()
	for range r.lines {
	}
	select {
	case code := <-r.code:
		return code
	case <-time.After(30 * time.Second):
		t.Fatal("trailgate sandbox did not stop within 30s of its context's end")
	}
	return -1
}

// TestSandboxServesOrganizationsToTheWrittenConfiguration runs `trailgate
// sandbox` with no Temporal anywhere, waits for its ready line, and checks
// that the configuration it wrote loads, names the Temporal it was given,
// and reaches every organization through the sandbox as trailgate does; the
// AWS CLI, when installed, sees them with the written profiles too.
func TestSandboxServesOrganizationsToTheWrittenConfiguration(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sandbox")
	port := freePort(t)
	// Nothing listens on the Temporal address: the sandbox only writes it.
	r := startSandbox(t, "--json", "--data-dir", dir, "--port", strconv.Itoa(port), "--organizations", "4",
		"--temporal-address", "127.0.0.1:1", "--temporal-namespace", "trailgate-test", "--ui-url", "http://temporal.example:8080")
	line := r.readyLine(t)
	var ready cli.SandboxReady
	if err := json.Unmarshal([]byte(line), &ready); err != nil {
		t.Fatalf("the ready line is not one JSON object: %v\n%s", err, line)
	}
	abs, _ := filepath.Abs(dir)
	want := cli.SandboxReady{
		Endpoint:        "http://127.0.0.1:" + strconv.Itoa(port),
		ConfigFile:      filepath.Join(abs, config.DefaultFile),
		DataDir:         abs,
		Organizations:   4,
		TemporalAddress: "127.0.0.1:1",
		PID:             os.Getpid(),
	}
	if ready != want {
		t.Fatalf("ready line: got %+v, want %+v", ready, want)
	}

	cfg, err := config.Load(config.LoadOptions{WorkDir: t.TempDir(), Flags: configFlag(t, ready.ConfigFile)})
	if err != nil {
		t.Fatalf("load the written configuration: %v", err)
	}
	if err := cfg.ValidateWorker(); err != nil {
		t.Fatalf("the written configuration does not run a worker: %v", err)
	}
	if cfg.Temporal.Address != "127.0.0.1:1" || cfg.Temporal.Namespace != "trailgate-test" || cfg.Temporal.UIURL != "http://temporal.example:8080" {
		t.Errorf("written Temporal settings: got %+v, want the address, namespace and UI given", cfg.Temporal)
	}
	if cfg.AWS.EndpointURL != ready.Endpoint || len(cfg.People) == 0 || cfg.Identity.WorkerKey == "" {
		t.Errorf("written configuration: endpoint %q, %d people, worker key %q; want the sandbox's endpoint, the demo's people and a worker key", cfg.AWS.EndpointURL, len(cfg.People), cfg.Identity.WorkerKey)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	factory, err := awsclient.NewFactory(ctx, cfg.AWS, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, org := range cfg.Organizations {
		clients, err := factory.ForOrganization(ctx, org, awsclient.Session{})
		if err != nil {
			t.Fatal(err)
		}
		desc, err := clients.Organizations.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
		if err != nil {
			t.Fatalf("describe organization %s through %s: %v", org.Name, org.RoleARN, err)
		}
		if got := aws.ToString(desc.Organization.MasterAccountId); got != org.ManagementAccountID {
			t.Errorf("organization %s: management account %s, want %s", org.Name, got, org.ManagementAccountID)
		}
		names = append(names, org.Name)
	}
	if want := []string{"acme-prod", "acme-staging", "globex", "org-0004"}; !slices.Equal(names, want) {
		t.Errorf("organizations: got %v, want %v", names, want)
	}

	if awsCLI, err := exec.LookPath("aws"); err != nil {
		t.Log("the AWS CLI is not installed; only the SDK looked")
	} else {
		cmd := exec.CommandContext(ctx, awsCLI, "--endpoint-url", ready.Endpoint, "--profile", "globex-management",
			"organizations", "describe-organization", "--query", "Organization.MasterAccountId", "--output", "text")
		cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE="+cfg.AWS.ConfigFile, "AWS_SHARED_CREDENTIALS_FILE="+cfg.AWS.CredentialsFile)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws organizations describe-organization: %v\n%s", err, out)
		}
		if got := strings.TrimSpace(string(out)); got != cfg.Organizations[2].ManagementAccountID {
			t.Errorf("the AWS CLI sees globex managed by %q, want %s", got, cfg.Organizations[2].ManagementAccountID)
		}
	}

	if code := r.stop(t); code != 0 {
		t.Fatalf("trailgate sandbox after its context ended: exit status %d, want 0: %s", code, r.stderr)
	}
	if _, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
		t.Error("the sandbox still serves after it stopped")
	}

	// Started again on the same directory, it keeps its organizations and
	// says so in words.
	r = startSandbox(t, "--data-dir", dir, "--port", strconv.Itoa(port), "--organizations", "4")
	if line := r.readyLine(t); line != "AWS sandbox: "+ready.Endpoint+", 4 organizations (acme-prod, acme-staging, globex, org-0004)" {
		t.Errorf("text ready line: got %q", line)
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("trailgate sandbox, text: exit status %d, want 0: %s", code, r.stderr)
	}
}

// In a container the sandbox listens on every interface and writes the
// address other containers reach it by: --listen and --endpoint-url.
func TestSandboxListensWhereToldAndWritesTheEndpointGiven(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sandbox")
	port := strconv.Itoa(freePort(t))
	endpoint := "http://localhost:" + port
	r := startSandbox(t, "--json", "--data-dir", dir, "--port", port, "--organizations", "1", "--listen", "0.0.0.0", "--endpoint-url", endpoint+"/")
	var ready cli.SandboxReady
	if line := r.readyLine(t); json.Unmarshal([]byte(line), &ready) != nil || ready.Endpoint != endpoint {
		t.Fatalf("ready line %q: want the endpoint %s", line, endpoint)
	}
	// 127.0.0.2 is this machine too, but a listener on 127.0.0.1 alone
	// does not answer there.
	if c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.2", port)); err != nil {
		t.Errorf("the sandbox does not answer on 127.0.0.2: it does not listen on every interface: %v", err)
	} else {
		c.Close()
	}
	cfg, err := config.Load(config.LoadOptions{WorkDir: t.TempDir(), Flags: configFlag(t, ready.ConfigFile)})
	if err != nil {
		t.Fatal(err)
	}
	files, err := os.ReadFile(cfg.AWS.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AWS.EndpointURL != endpoint || !strings.Contains(string(files), "endpoint_url = "+endpoint+"\n") {
		t.Errorf("written endpoint %q, AWS config file:\n%s\nwant %s in both", cfg.AWS.EndpointURL, files, endpoint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	factory, err := awsclient.NewFactory(ctx, cfg.AWS, nil)
	if err != nil {
		t.Fatal(err)
	}
	clients, err := factory.ForOrganization(ctx, cfg.Organizations[0], awsclient.Session{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := clients.Organizations.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{}); err != nil {
		t.Fatalf("describe the organization through %s: %v", endpoint, err)
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d, want 0: %s", code, r.stderr)
	}
}

// configFlag is a --config flag set to path, as Load reads it.
func configFlag(t *testing.T, path string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("trailgate", pflag.ContinueOnError)
	config.RegisterFlags(fs)
	if err := fs.Set("config", path); err != nil {
		t.Fatal(err)
	}
	return fs
}

// TestSandboxRefusesBadInput checks that a busy port, organizations out of
// range and a data directory that cannot be created are usage errors that
// say what to do, and that nothing is started or written.
func TestSandboxRefusesBadInput(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name    string
		args    []string
		dataDir string
		want    []string
	}{
		{"port in use", []string{"--port", busyPort}, "", []string{"port " + busyPort + " on 127.0.0.1 (AWS sandbox) is already in use", "--port"}},
		{"no organizations", []string{"--organizations", "0"}, "", []string{"dev.organizations is 0; seed from 1 to 10000 sandbox organizations"}},
		{"too many organizations", []string{"--organizations", "10001"}, "", []string{"dev.organizations is 10001; seed from 1 to 10000"}},
		{"listen on a name", []string{"--listen", "sandbox"}, "", []string{`--listen "sandbox" is not an IP address`}},
		{"listen on another machine's address", []string{"--listen", "192.0.2.1"}, "", []string{"192.0.2.1 is not an address of this machine", "127.0.0.1"}},
		{"endpoint without a scheme", []string{"--endpoint-url", "sandbox:4566"}, "", []string{`--endpoint-url "sandbox:4566" is not a URL like http://sandbox:4566`}},
		{"data directory under a file", nil, filepath.Join(file, "sandbox"), []string{"create data directory " + filepath.Join(file, "sandbox"), "choose a directory you may write to"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := c.dataDir
			if dir == "" {
				dir = filepath.Join(t.TempDir(), "sandbox")
			}
			args := append([]string{"--data-dir", dir, "--port", strconv.Itoa(freePort(t))}, c.args...)
			r := startSandbox(t, args...)
			var code int
			select {
			case code = <-r.code:
			case line, ok := <-r.lines:
				if !ok {
					// It ended without a word on standard output.
					code = <-r.code
					break
				}
				code = r.stop(t)
				t.Fatalf("trailgate sandbox started on bad input and printed %q (exit status %d once stopped)", line, code)
			case <-time.After(30 * time.Second):
				t.Fatal("trailgate sandbox did not end within 30s of bad input")
			}
			if code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr.String(), w) {
					t.Errorf("the error does not say %q:\n%s", w, r.stderr)
				}
			}
			if line, ok := <-r.lines; ok {
				t.Errorf("printed a ready line for bad input: %q", line)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
				t.Errorf("the data directory %s was created (%v); bad input must write nothing", dir, err)
			}
		})
	}
}
