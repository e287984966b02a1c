package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/brief"
	"github.com/trailgate/trailgate/internal/devmode"
	"github.com/trailgate/trailgate/internal/devserver"
)

// DefaultSandboxDataDir is where `trailgate sandbox` keeps its state unless
// --data-dir says otherwise: apart from the dev default's dev.data_dir, so
// that the two never share one sandbox state.
const DefaultSandboxDataDir = ".trailgate-sandbox"

// sandboxStopTimeout bounds stopping the sandbox after SIGINT or SIGTERM.
const sandboxStopTimeout = 10 * time.Second

// SandboxInput is what `trailgate sandbox` serves: the configuration, as
// loaded (dev.sandbox_port, dev.organizations, temporal.*), and the data
// directory.
type SandboxInput struct {
	Config config.Config
	// DataDir holds the sandbox's state, its AWS shared files, the proof
	// key and the written trailgate.yaml.
	DataDir string
	// JSON prints the ready line as one JSON object.
	JSON bool
	// Listen is the IP address the sandbox listens on (--listen).
	Listen string
	// EndpointURL is the URL written for clients (--endpoint-url); empty
	// means the address it listens on, 127.0.0.1 for an unspecified one.
	EndpointURL string
}

func (in SandboxInput) validate() error {
	var problems []error
	if in.DataDir == "" {
		problems = append(problems, errors.New("sandbox: --data-dir is empty; name the directory where the sandbox keeps its state, such as "+DefaultSandboxDataDir))
	}
	if net.ParseIP(in.Listen) == nil {
		problems = append(problems, fmt.Errorf("sandbox: --listen %q is not an IP address; give one of this machine's, such as 127.0.0.1 (this machine only) or 0.0.0.0 (every interface, as in a container)", in.Listen))
	}
	if in.EndpointURL != "" {
		if u, err := url.Parse(in.EndpointURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			problems = append(problems, fmt.Errorf("sandbox: --endpoint-url %q is not a URL like http://sandbox:4566; give the scheme, the host that clients reach the sandbox by and the port, and no path", in.EndpointURL))
		}
	}
	if len(problems) > 0 {
		return usage(errors.Join(problems...))
	}
	return nil
}

// network is where the sandbox listens and the URL clients reach it by.
func (in SandboxInput) network() devmode.SandboxNetwork {
	n := devmode.SandboxNetwork{Host: in.Listen, EndpointURL: strings.TrimSuffix(in.EndpointURL, "/")}
	if n.EndpointURL == "" && net.ParseIP(in.Listen).IsUnspecified() {
		n.EndpointURL = "http://" + net.JoinHostPort(devmode.Host, strconv.Itoa(in.Config.Dev.SandboxPort))
	}
	return n
}

// SandboxReady is what `trailgate sandbox --json` prints, on one line, once
// the sandbox serves and the configuration is written. Its JSON shape is
// stable: {"endpoint", "config_file", "data_dir", "organizations",
// "temporal_address", "pid"}.
type SandboxReady struct {
	// Endpoint is the sandbox's URL, e.g. http://127.0.0.1:4566.
	Endpoint string `json:"endpoint"`
	// ConfigFile is the absolute path of the written trailgate.yaml.
	ConfigFile string `json:"config_file"`
	// DataDir is the absolute data directory.
	DataDir string `json:"data_dir"`
	// Organizations is how many organizations the sandbox holds.
	Organizations int `json:"organizations"`
	// TemporalAddress is the Temporal frontend the configuration names.
	TemporalAddress string `json:"temporal_address"`
	// PID is the process that serves the sandbox; SIGINT or SIGTERM stops it.
	PID int `json:"pid"`
}

// Sandbox starts the AWS sandbox on its own (devmode.StartSandbox), writes
// the configuration that points trailgate at it and at in.Config's Temporal,
// prints what it serves to w once it does, and serves until ctx ends. A busy
// port or a data directory that cannot be created is a usage error, found
// before anything starts.
func Sandbox(ctx context.Context, in SandboxInput, w io.Writer) error {
	if err := in.validate(); err != nil {
		return err
	}
	cfg := in.Config
	cfg.Dev.DataDir = in.DataDir
	env, err := devmode.StartSandbox(ctx, cfg, in.network())
	var (
		busy    *devserver.PortInUseError
		nowhere *devserver.AddressError
		noDir   *devmode.DataDirError
		broken  *config.ValidationError
	)
	switch {
	case errors.As(err, &busy), errors.As(err, &nowhere), errors.As(err, &noDir), errors.As(err, &broken):
		return usage(err)
	case err != nil:
		return err
	}
	ready := SandboxReady{
		Endpoint:        env.AWS.Endpoint,
		ConfigFile:      env.ConfigFile,
		DataDir:         env.DataDir,
		Organizations:   len(env.Config.Organizations),
		TemporalAddress: env.Config.Temporal.Address,
		PID:             os.Getpid(),
	}
	if in.JSON {
		err = writeSandboxJSON(w, ready)
	} else {
		err = writeSandboxText(w, env)
	}
	if err == nil {
		<-ctx.Done()
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), sandboxStopTimeout)
	defer cancel()
	return errors.Join(err, env.Close(stopCtx))
}

// writeSandboxJSON writes ready as one line, in one write, so that a script
// that waits for it reads it whole.
func writeSandboxJSON(w io.Writer, ready SandboxReady) error {
	line, err := json.Marshal(ready)
	if err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	_, err = w.Write(append(line, '\n'))
	return err
}

// writeSandboxText says, in one write, what the sandbox serves and what to
// type next.
func writeSandboxText(w io.Writer, env *devmode.Environment) error {
	c := env.Config
	var orgs []string
	for _, o := range c.Organizations {
		orgs = append(orgs, o.Name)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "AWS sandbox: %s, %s organizations (%s)\n", env.AWS.Endpoint, brief.Count(len(orgs)), brief.List(orgs, 5))
	fmt.Fprintf(&b, "configuration: %s (Temporal at %s, namespace %s, task queue %s)\n", env.ConfigFile, c.Temporal.Address, c.Temporal.Namespace, c.Temporal.TaskQueue)
	fmt.Fprintf(&b, "start workers:  bin/trailgate-worker --config %s\n", env.ConfigFile)
	for i, line := range devmode.FirstCommands(env.ConfigFile) {
		label := "use the CLI:   "
		if i > 0 {
			label = strings.Repeat(" ", len(label))
		}
		fmt.Fprintf(&b, "%s %s\n", label, line)
	}
	fmt.Fprintf(&b, "people: %s requests; %s approve; %s confirms cleanup; each proves who they are with the AWS profile of their name (--profile)\n",
		devmode.DemoRequester, strings.Join(c.Approvals.Approvers, " and "), strings.Join(c.Approvals.CloudTrailAdmins, ", "))
	fmt.Fprintf(&b, "Temporal's namespace %s needs trailgate's search attributes (doctor checks). Ctrl-C stops the sandbox; its state stays in %s\n", c.Temporal.Namespace, env.DataDir)
	_, err := w.Write(b.Bytes())
	return err
}

// sandboxFlags are the short names `trailgate sandbox` gives to the flags of
// configuration keys: --port is --dev-sandbox-port, and so on. Either name
// is accepted, and Load, looking up the key's flag, finds the short one.
var sandboxFlags = map[string]string{
	"dev-sandbox-port":  devmode.SandboxPortFlag,
	"dev-organizations": "organizations",
	"temporal-ui-url":   "ui-url",
}

func newSandboxCommand() *cobra.Command {
	var in SandboxInput
	d := config.Default()
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Serve the AWS sandbox alone, for trailgate on your own Temporal cluster without AWS",
		Long: `Serve the AWS sandbox of the dev default on its own: organizations, their
roles and members, and the demo's people, over the real AWS protocols, on
127.0.0.1 unless --listen says otherwise (0.0.0.0 in a container, with
--endpoint-url naming the address that other containers reach it by). It writes, in the data directory, the sandbox's state, AWS shared
config and credentials files, the worker's proof key and trailgate.yaml: the
dev default's configuration (people, approvals, trail, organizations) pointed at
the sandbox and at your Temporal (--temporal-address, --temporal-namespace,
--temporal-task-queue, --ui-url, or temporal.* in --config or TRAILGATE_*).
Temporal need not be reachable: only its address is written. Workers then run
with bin/trailgate-worker --config <data-dir>/trailgate.yaml, against a
namespace that has trailgate's search attributes.

Once the sandbox serves and the file is written it prints what it serves and
what to type next or, with --json, one line:
  {"endpoint": string, "config_file": string, "data_dir": string,
   "organizations": number, "temporal_address": string, "pid": number}
It serves until SIGINT or SIGTERM; the state stays in the data directory.

--port, --organizations and --ui-url set dev.sandbox_port, dev.organizations
and temporal.ui_url (TRAILGATE_DEV_SANDBOX_PORT, ...). The data directory is
--data-dir only, never dev.data_dir, so that it is not the dev default's.

Exit status: 0 stopped cleanly, 1 the sandbox failed, 2 usage or configuration
error (a busy port, organizations out of range, a data directory that cannot
be created), with nothing started.`,
		Example: "  trailgate sandbox --temporal-address temporal.internal:7233 --temporal-namespace trailgate\n  trailgate sandbox --data-dir /tmp/tg --port 4577 --organizations 20 --json",
		Args:    cobra.NoArgs,
		// The configuration it loads is the base of the one it writes, not
		// the dev default's file.
		Annotations: map[string]string{ownsConfig: "true"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(config.LoadOptions{Flags: cmd.Flags()})
			if err != nil {
				return err
			}
			in.Config = cfg
			in.JSON, _ = cmd.Flags().GetBool("json")
			return Sandbox(cmd.Context(), in, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if short, ok := sandboxFlags[name]; ok {
			return pflag.NormalizedName(short)
		}
		return pflag.NormalizedName(name)
	})
	f.StringVar(&in.DataDir, "data-dir", DefaultSandboxDataDir, "where the sandbox keeps its state and writes trailgate.yaml (kept across restarts)")
	f.Int(devmode.SandboxPortFlag, d.Dev.SandboxPort, "port of the AWS sandbox (dev.sandbox_port)")
	f.StringVar(&in.Listen, "listen", devmode.Host, "IP address the sandbox listens on: 127.0.0.1 for this machine only, 0.0.0.0 for every interface (in a container)")
	f.StringVar(&in.EndpointURL, "endpoint-url", "", "URL that trailgate and the AWS files reach the sandbox by, such as http://sandbox:4566 (default http://<listen>:<port>, 127.0.0.1 for 0.0.0.0)")
	f.Int("organizations", d.Dev.Organizations, fmt.Sprintf("how many sandbox organizations a fresh data directory is seeded with, 1 to %d (dev.organizations)", config.MaxDevOrganizations))
	f.String("ui-url", d.Temporal.UIURL, "base URL of your Temporal UI, for links to changes (temporal.ui_url)")
	return cmd
}
