// Package devmode runs trailgate's embedded default (trailgate-worker
// --dev): Temporal's own server and UI, the AWS sandbox with a few
// organizations, and the effective configuration that points the worker and
// the CLI at them, written to <data_dir>/trailgate.yaml. Everything lives in
// the data directory and survives a restart.
package devmode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/devserver"
	"github.com/trailgate/trailgate/internal/proof"
	"github.com/trailgate/trailgate/workflows"
)

// Host is where every service of the embedded default listens: this
// machine only.
const Host = "127.0.0.1"

// ConfigFileName is the effective configuration's name in the data
// directory.
const ConfigFileName = config.DefaultFile

// ProofKeyFileName is the worker's proof key in the data directory: it
// opens the proofs that the demo's people seal with their AWS profiles.
const ProofKeyFileName = "proof.key"

// The people of the demo: dave asks for changes, alice and bob approve them
// (two approvals, never dave's own), carol administers CloudTrail and
// confirms cleanup before a disable.
const DemoRequester = "dave"

var (
	demoApprovers        = []string{"alice", "bob"}
	demoCloudTrailAdmins = []string{"carol"}
)

// DemoTrailName is the organization trail the embedded default manages.
const DemoTrailName = "trailgate-org-trail"

// DevRegions are where the embedded default looks for organization event
// data stores, unless aws.regions says otherwise: the sandbox's region and
// another, so that the inventory reads more than one.
var DevRegions = []string{"us-east-1", "eu-west-1"}

// Environment is the running embedded default.
type Environment struct {
	// Config is the effective configuration, as written to ConfigFile.
	Config config.Config
	// ConfigFile is <data_dir>/trailgate.yaml.
	ConfigFile string
	// DataDir is the absolute data directory.
	DataDir  string
	Temporal *devserver.Server
	AWS      *awssandbox.DevEnvironment
}

// Start checks that the embedded default's ports are free, starts Temporal
// (with the UI) and the AWS sandbox on the data directory of cfg, and writes
// the effective configuration. logger receives the servers' warnings and
// errors. Close stops what Start started.
func Start(ctx context.Context, cfg config.Config, logger *slog.Logger) (*Environment, error) {
	dataDir, err := filepath.Abs(cfg.Dev.DataDir)
	if err != nil {
		return nil, fmt.Errorf("find data directory %s: %w", cfg.Dev.DataDir, err)
	}
	if err := devserver.CheckPorts(Host,
		devserver.Port{Number: cfg.Dev.TemporalPort, Purpose: "Temporal frontend", Setting: "dev.temporal_port"},
		devserver.Port{Number: cfg.Dev.UIPort, Purpose: "Temporal UI", Setting: "dev.ui_port"},
		sandboxPort(cfg, ""),
	); err != nil {
		return nil, fmt.Errorf("start the embedded default: %w", err)
	}

	env := &Environment{DataDir: dataDir, ConfigFile: filepath.Join(dataDir, ConfigFileName)}
	env.Temporal, err = devserver.Start(ctx, devserver.Options{
		DataDir:          dataDir,
		Host:             Host,
		FrontendPort:     cfg.Dev.TemporalPort,
		UIPort:           cfg.Dev.UIPort,
		Namespace:        cfg.Temporal.Namespace,
		SearchAttributes: workflows.SearchAttributes(),
		Logger:           logger,
	})
	if err != nil {
		return nil, fmt.Errorf("start the embedded default: %w", err)
	}
	env.AWS, err = startAWS(ctx, cfg, dataDir)
	if err != nil {
		_ = env.Close(ctx)
		return nil, fmt.Errorf("start the embedded default: %w", err)
	}

	env.Config, err = writeEffective(Effective(cfg, dataDir, env.Temporal.FrontendAddress(), env.Temporal.UIURL(), env.AWS), env.ConfigFile)
	if err != nil {
		_ = env.Close(ctx)
		return nil, fmt.Errorf("start the embedded default: %w", err)
	}
	return env, nil
}

// writeEffective gives c, an effective configuration, the worker key of
// its proof key (identity.proof_key_file), created when missing; validates
// it and writes it to configFile.
func writeEffective(c config.Config, configFile string) (config.Config, error) {
	key, err := proof.LoadOrCreateKey(c.Identity.ProofKeyFile)
	if err != nil {
		return c, err
	}
	c.Identity.WorkerKey = key.Public().String()
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("effective configuration: %w", err)
	}
	if err := config.WriteFile(configFile, c); err != nil {
		return c, err
	}
	return c, nil
}

// DevAuditEvery is how often the embedded default audits for drift, unless
// audit.every says otherwise: often enough to watch drift made by hand be
// found.
const DevAuditEvery = 10 * time.Minute

// Effective is cfg pointed at the embedded default: its Temporal and UI,
// the sandbox's endpoint with the operator profile of its shared files, its
// organizations reached through their roles, each with its first member
// account as the member-account probe and CloudTrail's delegated
// administrator, DevRegions unless aws.regions is set, the proof key in the data
// directory, and, unless cfg names its own, the demo's people (each proven
// by a sandbox IAM user with an AWS profile of their name), their roles at
// the gates and a managed organization trail. Paths are absolute so
// that the written file works from any directory. A nil aws leaves the AWS
// settings and organizations as they are.
func Effective(cfg config.Config, dataDir, temporalAddress, uiURL string, aws *awssandbox.DevEnvironment) config.Config {
	c := cfg
	c.Temporal.Address = temporalAddress
	c.Temporal.UIURL = uiURL
	// The embedded server speaks plain gRPC on the loopback interface,
	// where compression costs CPU and spares nothing.
	c.Temporal.TLS = config.TLS{}
	c.Temporal.APIKey = ""
	c.Temporal.Compression = config.CompressionNone
	return onSandbox(c, dataDir, aws)
}

// onSandbox is cfg pointed at the AWS sandbox aws, with the demo's people,
// approvals and trail unless cfg names its own, and the proof key in
// dataDir; see Effective. Its Temporal settings are cfg's.
func onSandbox(cfg config.Config, dataDir string, aws *awssandbox.DevEnvironment) config.Config {
	c := cfg
	var orgs []awssandbox.DevOrganization
	if aws != nil {
		c.AWS.EndpointURL = aws.Endpoint
		c.AWS.Profile = aws.OperatorProfile
		c.AWS.ConfigFile = aws.ConfigFile
		c.AWS.CredentialsFile = aws.CredentialsFile
		if aws.Sandbox != nil && aws.Sandbox.Region() != "" {
			c.AWS.Region = aws.Sandbox.Region()
		}
		if len(c.People) == 0 {
			for _, p := range aws.People {
				c.People = append(c.People, config.Person{Name: p.Name, Principals: []string{p.ARN}})
			}
		}
		if len(c.AWS.Regions) == 0 {
			c.AWS.Regions = append([]string(nil), DevRegions...)
		}
		orgs = aws.Organizations
		c.Organizations = make([]config.Organization, 0, len(orgs))
		for _, o := range orgs {
			org := config.Organization{
				Name:                o.Name,
				ManagementAccountID: o.ManagementAccountID,
				RoleARN:             o.RoleARN,
				ExternalID:          o.ExternalID,
			}
			// The first member account shows the organization trail as a
			// member sees it, and is CloudTrail's delegated administrator,
			// as AWS's recommended setup has one.
			if len(o.MemberAccountIDs) > 0 {
				org.ProbeAccountID = o.MemberAccountIDs[0]
				org.DelegatedAdministrators = []string{o.MemberAccountIDs[0]}
			}
			c.Organizations = append(c.Organizations, org)
		}
	}

	if len(c.Approvals.Approvers) == 0 {
		c.Approvals.Approvers = append([]string(nil), demoApprovers...)
		c.Approvals.Required = len(demoApprovers)
	}
	if len(c.Approvals.CloudTrailAdmins) == 0 {
		c.Approvals.CloudTrailAdmins = append([]string(nil), demoCloudTrailAdmins...)
	}
	if c.Trail.Name == "" && c.Dev.Trail {
		// A bucket belongs to one account: each organization's trail logs to
		// a bucket of its own management account.
		c.Trail.Name = DemoTrailName
		c.Trail.Bucket = DemoTrailName + "-" + config.BucketAccountPlaceholder
	}

	if c.Audit.Every == config.Default().Audit.Every {
		c.Audit.Every = DevAuditEvery
	}

	if c.Identity.ProofKeyFile == "" {
		c.Identity.ProofKeyFile = filepath.Join(dataDir, ProofKeyFileName)
	}
	c.Dev.DataDir = dataDir
	return c
}

// Close stops the AWS sandbox and Temporal. Their state stays in the data
// directory for the next start.
func (e *Environment) Close(ctx context.Context) error {
	var errs []error
	if e.AWS != nil && e.AWS.Close != nil {
		errs = append(errs, e.AWS.Close(ctx))
		e.AWS = nil
	}
	if e.Temporal != nil {
		errs = append(errs, e.Temporal.Stop())
		e.Temporal = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop the embedded default: %w", err)
	}
	return nil
}
