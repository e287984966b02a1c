package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/proof"
	"github.com/trailgate/trailgate/workflows"
)

// identityHelp says, in every decision command's help, how a person proves
// who they are.
const identityHelp = `Who you are is proven, not typed: the command signs an sts:GetCallerIdentity
request with your own AWS credentials (--profile NAME, else $AWS_PROFILE, else
the default chain, IAM Identity Center included), binds it to this one decision,
and seals it to the worker's public key (identity.worker_key). The worker asks
STS who signed it and maps the ARN to a person of its configuration (people:).
--as NAME names you: with AWS credentials, the worker refuses the decision unless
the proof is NAME's; without any, it is a claim, accepted only where the
worker's identity.allow_claims is true and recorded as claimed, not verified.`

// UserEnv names the environment variable that names a claimed person when
// --as is not given and no AWS credentials prove who runs a command.
const UserEnv = "TRAILGATE_USER"

// profileEnv is the AWS SDK's own choice of profile.
const profileEnv = "AWS_PROFILE"

// globalSTSRegion is the signing region of AWS's global STS endpoint.
const globalSTSRegion = "us-east-1"

// askForWorkerKey is what to do without a usable worker key.
const askForWorkerKey = "ask an operator for the worker's public key (trailgate-worker --print-proof-key)"

// IdentityFlags are how the person behind a decision command proves who
// they are: --profile and --as.
type IdentityFlags struct {
	// Profile is the AWS profile whose credentials sign the proof; empty
	// means $AWS_PROFILE, else the default credential chain.
	Profile string
	// As names the person. With credentials it is checked against the
	// proof; without, it is a claim.
	As string
}

func (f IdentityFlags) problems() []string {
	var problems []string
	if strings.ContainsFunc(f.Profile, isSpaceOrControl) {
		problems = append(problems, fmt.Sprintf("--profile %q: a profile name has no spaces", f.Profile))
	}
	if strings.ContainsFunc(strings.TrimSpace(f.As), isSpaceOrControl) {
		problems = append(problems, fmt.Sprintf("--as %q: a person's name has no spaces", f.As))
	}
	return problems
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// person is who runs a decision command, ready to prove it: their AWS
// credentials and the worker's key, or, without credentials, a claimed
// name.
type person struct {
	// creds sign proofs; nil means the person only claims a name.
	creds    aws.CredentialsProvider
	key      proof.PublicKey
	endpoint string
	region   string
	// name is --as (or, for a claim, $TRAILGATE_USER).
	name string
	// nonce makes the person's proof unique; every command makes one.
	nonce string
	now   func() time.Time
}

// claims reports whether the person has no credentials and only claims a
// name.
func (p person) claims() bool { return p.creds == nil }

// who is the person as a decision carries them before it is proven: the
// name they give and, when they prove it, the proof's nonce. A decision's
// binding is computed over it.
func (p person) who() workflows.Who {
	w := workflows.Who{By: p.name}
	if !p.claims() {
		w.Nonce = p.nonce
	}
	return w
}

// prove returns who() with a sealed proof bound to b: an
// sts:GetCallerIdentity request signed with the person's credentials, its
// signed header carrying b, sealed to the worker's key. A claim is returned
// as it is.
func (p person) prove(ctx context.Context, b workflows.Binding) (workflows.Who, error) {
	w := p.who()
	if p.claims() {
		return w, nil
	}
	if b.Nonce != p.nonce {
		return w, fmt.Errorf("prove who you are: the decision is bound to nonce %q, not the proof's %q", b.Nonce, p.nonce)
	}
	req, err := proof.Sign(ctx, p.creds, p.endpoint, p.region, b.String(), p.now())
	if err != nil {
		return w, usage(fmt.Errorf("prove who you are for %s (signed for %s): %w", b.Decision, p.endpoint, err))
	}
	if w.Proof, err = proof.Seal(p.key, req); err != nil {
		return w, fmt.Errorf("seal the proof of who you are to the worker's key %s: %w", p.key.Fingerprint(), err)
	}
	return w, nil
}

// identitySources are where a person's identity is looked up besides the
// flags; tests replace them.
type identitySources struct {
	lookupEnv func(string) (string, bool)
	now       func() time.Time
}

// env is a variable of the environment, trimmed; empty when unset.
func (src identitySources) env(name string) string {
	v, _ := src.lookupEnv(name)
	return strings.TrimSpace(v)
}

// person finds who runs a decision command: their own AWS credentials
// (--profile, else $AWS_PROFILE, else the default chain; the configuration's
// aws.config_file and aws.credentials_file, never aws.profile, which is the
// worker's own identity), or, when the default chain has none, the name
// claimed with --as or $TRAILGATE_USER.
func (src identitySources) person(ctx context.Context, cfg config.Config, f IdentityFlags) (person, error) {
	p := person{name: strings.TrimSpace(f.As), now: src.now, endpoint: cfg.STSEndpoint(), region: signingRegion(cfg)}
	profile, chosen := strings.TrimSpace(f.Profile), "--profile"
	if profile == "" {
		profile, chosen = src.env(profileEnv), "$"+profileEnv
	}
	creds, err := personalCredentials(ctx, cfg.AWS, profile)
	switch {
	case errors.Is(err, errNoCredentials) && profile == "":
		if p.name == "" {
			p.name = src.env(UserEnv)
		}
		if p.name == "" {
			return p, usage(errors.New("no AWS credentials to prove who you are: use --profile NAME or AWS_PROFILE (where the worker allows claims, identity.allow_claims, --as NAME names you without proof)"))
		}
		return p, nil
	case err != nil && profile != "":
		return p, usage(fmt.Errorf("AWS profile %s (%s): %w", profile, chosen, err))
	case err != nil:
		return p, usage(err)
	}
	if p.key, err = workerKey(cfg); err != nil {
		return p, err
	}
	p.creds, p.nonce = creds, newNonce()
	return p, nil
}

// errNoCredentials: the default credential chain found nothing.
var errNoCredentials = errors.New("no AWS credentials")

// personalCredentials loads a person's AWS credentials from profile (empty:
// the default chain) and checks that they can be had now, so that a missing
// or expired login is said before anything is sent.
func personalCredentials(ctx context.Context, c config.AWS, profile string) (aws.CredentialsProvider, error) {
	// A machine's instance role proves no person, and asking for it where
	// there is none costs seconds and a warning.
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithEC2IMDSClientEnableState(imds.ClientDisabled)}
	if profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(profile))
	}
	if c.ConfigFile != "" {
		opts = append(opts, awsconfig.WithSharedConfigFiles([]string{c.ConfigFile}))
	}
	if c.CredentialsFile != "" {
		opts = append(opts, awsconfig.WithSharedCredentialsFiles([]string{c.CredentialsFile}))
	}
	loaded, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	var missing awsconfig.SharedConfigProfileNotExistError
	switch {
	case errors.As(err, &missing):
		return nil, fmt.Errorf("no such profile in %s: name one of its profiles with --profile", sharedFiles(c))
	case err != nil:
		return nil, fmt.Errorf("load AWS credentials: %w", err)
	case loaded.Credentials == nil:
		return nil, errNoCredentials
	}
	if _, err := loaded.Credentials.Retrieve(ctx); err != nil {
		if profile == "" {
			return nil, errNoCredentials
		}
		return nil, fmt.Errorf("get its credentials (after `aws sso login --profile %s` when it uses IAM Identity Center): %w", profile, err)
	}
	return loaded.Credentials, nil
}

// sharedFiles names the AWS files profiles are read from.
func sharedFiles(c config.AWS) string {
	files := []string{"~/.aws/config", "~/.aws/credentials"}
	if c.ConfigFile != "" {
		files[0] = c.ConfigFile
	}
	if c.CredentialsFile != "" {
		files[1] = c.CredentialsFile
	}
	return strings.Join(files, " and ")
}

// workerKey is the worker's public key, to which proofs are sealed.
func workerKey(cfg config.Config) (proof.PublicKey, error) {
	s := strings.TrimSpace(cfg.Identity.WorkerKey)
	if s == "" {
		return proof.PublicKey{}, usage(errors.New("identity.worker_key is not set: " + askForWorkerKey))
	}
	k, err := proof.ParsePublicKey(s)
	if err != nil {
		return proof.PublicKey{}, usage(fmt.Errorf("identity.worker_key is not a key the worker made (%w): %s", err, askForWorkerKey))
	}
	return k, nil
}

// signingRegion is the region proofs are signed for: us-east-1 for AWS's
// global STS endpoint, else aws.region.
func signingRegion(cfg config.Config) string {
	if cfg.STSEndpoint() == config.DefaultSTSEndpoint || cfg.AWS.Region == "" {
		return globalSTSRegion
	}
	return cfg.AWS.Region
}

// newNonce is 16 random bytes, in hex.
func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// lastDecider is the person behind the decision a change just took, as the
// worker proved them: the handler of a decision records it last.
func lastDecider(p workflows.ChangeProgress) (workflows.Who, bool) {
	for i := len(p.Record) - 1; i >= 0; i-- {
		if ids := p.Record[i].Identities; len(ids) > 0 {
			return ids[0], true
		}
	}
	return workflows.Who{}, false
}
