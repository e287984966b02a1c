package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/config"
	shippediam "github.com/trailgate/trailgate/iam"
	"github.com/trailgate/trailgate/internal/awsclient"
	"github.com/trailgate/trailgate/internal/temporalclient"
	"github.com/trailgate/trailgate/workflows"
)

// DoctorInput is what `trailgate doctor` checks: the configuration, as
// loaded.
type DoctorInput struct {
	Config config.Config
	// Source says where the configuration came from, for the report.
	Source string
	// Timeout bounds each check.
	Timeout time.Duration
	// Logger receives the Temporal SDK's logs.
	Logger *slog.Logger
}

func (in DoctorInput) validate() error {
	if in.Timeout <= 0 {
		return usage(fmt.Errorf("doctor: --timeout must be positive, not %s", in.Timeout))
	}
	return nil
}

// Check is one thing doctor looked at. Its JSON shape is stable:
// {"name", "ok", "detail", "fix"}.
type Check struct {
	// Name says what was checked: "configuration", "identity", "claims",
	// "temporal", "namespace", "search-attributes", "worker",
	// "organizations" or "aws/<organization>".
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Warn marks a check that passed with something people should know.
	Warn bool `json:"warn,omitempty"`
	// Detail says what doctor found.
	Detail string `json:"detail"`
	// Fix says, in words, what to do when OK is false or Warn is true;
	// empty otherwise.
	Fix string `json:"fix"`
}

// DoctorReport is doctor's answer. Its JSON shape is stable:
// {"ok": bool, "checks": [Check, ...]}; ok is true when every check is.
type DoctorReport struct {
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
}

// pollerFreshness is how recently a worker must have polled to count as
// running; a poll waits up to about a minute on an idle task queue.
const pollerFreshness = 2 * time.Minute

// Doctor checks, in order: that the worker's key parses and whether claims
// are accepted (a warning), that Temporal answers, that the namespace
// exists, that trailgate's search attributes are registered with their
// types, that a worker polls the task queue for workflows and activities,
// and, for each organization, that its credentials reach its management
// account and may do what trailgate needs there (by IAM's policy
// simulator). It reports every check; it fails only on invalid input.
func Doctor(ctx context.Context, in DoctorInput) (DoctorReport, error) {
	if err := in.validate(); err != nil {
		return DoctorReport{}, err
	}
	cfg := in.Config
	source := in.Source
	if source == "" {
		source = "defaults and environment (no configuration file)"
	}
	checks := []Check{{Name: "configuration", OK: true, Detail: source}}
	checks = append(checks, identityChecks(cfg)...)
	checks = append(checks, temporalChecks(ctx, in)...)
	checks = append(checks, awsChecks(ctx, cfg, in.Timeout)...)

	report := DoctorReport{OK: true, Checks: checks}
	for _, c := range checks {
		report.OK = report.OK && c.OK
	}
	return report, nil
}

// identityChecks look at how people prove who they are: the worker's key
// must parse, or no decision can be proven; accepted claims are a warning.
func identityChecks(cfg config.Config) []Check {
	id := Check{Name: "identity"}
	if key, err := workerKey(cfg); err != nil {
		id.Detail = err.Error()
		id.Fix = "set identity.worker_key to the key trailgate-worker --print-proof-key prints"
	} else {
		id.OK = true
		id.Detail = fmt.Sprintf("proofs are sealed to worker key %s and signed for %s", key.Fingerprint(), cfg.STSEndpoint())
	}
	claims := Check{Name: "claims", OK: true, Detail: "claims are not accepted: every decision needs a proof of identity"}
	if cfg.Identity.AllowClaims {
		claims.Warn = true
		claims.Detail = "claims are accepted: decisions typed with --as are taken on trust and marked claimed, not verified"
		claims.Fix = "set identity.allow_claims to false where people can prove who they are with their AWS credentials"
	}
	return []Check{id, claims}
}

func temporalChecks(ctx context.Context, in DoctorInput) []Check {
	t := in.Config.Temporal
	reach := Check{Name: "temporal"}
	skipped := func(name string) Check {
		return Check{Name: name, Detail: "not checked: Temporal is unreachable", Fix: "make Temporal reachable first"}
	}

	dctx, cancel := context.WithTimeout(ctx, in.Timeout)
	c, err := temporalclient.Dial(dctx, t, in.Logger, nil)
	cancel()
	if err != nil {
		reach.Detail = err.Error()
		reach.Fix = fmt.Sprintf("start Temporal at %s (bin/trailgate-worker --dev runs the embedded default), or set temporal.address, TLS and API key to reach yours", t.Address)
		return []Check{reach, skipped("namespace"), skipped("search-attributes"), skipped("worker")}
	}
	defer c.Close()

	cctx, cancel := context.WithTimeout(ctx, in.Timeout)
	defer cancel()
	if _, err := c.CheckHealth(cctx, &client.CheckHealthRequest{}); err != nil {
		reach.Detail = fmt.Sprintf("%s answers but is not healthy: %v", t.Address, err)
		reach.Fix = "look at the Temporal server's logs; it may still be starting"
		return []Check{reach, skipped("namespace"), skipped("search-attributes"), skipped("worker")}
	}
	reach.OK = true
	reach.Detail = t.Address + " is serving"
	if info, err := c.WorkflowService().GetSystemInfo(cctx, &workflowservice.GetSystemInfoRequest{}); err == nil && info.GetServerVersion() != "" {
		reach.Detail += " (Temporal " + info.GetServerVersion() + ")"
	}

	return []Check{reach, namespaceCheck(cctx, c, t.Namespace), searchAttributeCheck(cctx, c, t.Namespace), workerCheck(cctx, c, t.TaskQueue)}
}

func namespaceCheck(ctx context.Context, c client.Client, namespace string) Check {
	check := Check{Name: "namespace"}
	resp, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	var notFound *serviceerror.NamespaceNotFound
	switch {
	case errors.As(err, &notFound):
		check.Detail = fmt.Sprintf("namespace %s does not exist", namespace)
		check.Fix = fmt.Sprintf("create it (temporal operator namespace create --namespace %s) or set temporal.namespace to an existing one", namespace)
	case err != nil:
		check.Detail = fmt.Sprintf("describe namespace %s: %v", namespace, err)
		check.Fix = "check that trailgate's Temporal identity may describe the namespace"
	case resp.GetNamespaceInfo().GetState() != enumspb.NAMESPACE_STATE_REGISTERED:
		check.Detail = fmt.Sprintf("namespace %s is %s", namespace, strings.ToLower(strings.TrimPrefix(resp.GetNamespaceInfo().GetState().String(), "NAMESPACE_STATE_")))
		check.Fix = "use a registered namespace (temporal.namespace)"
	default:
		check.OK = true
		check.Detail = fmt.Sprintf("%s is registered", namespace)
		if r := resp.GetConfig().GetWorkflowExecutionRetentionTtl(); r != nil {
			check.Detail += ", keeping closed changes " + shortDuration(r.AsDuration())
		}
	}
	return check
}

func searchAttributeCheck(ctx context.Context, c client.Client, namespace string) Check {
	check := Check{Name: "search-attributes"}
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		check.Detail = fmt.Sprintf("list search attributes of %s: %v", namespace, err)
		check.Fix = "check that the namespace exists and trailgate's Temporal identity may list its search attributes"
		return check
	}
	want := workflows.SearchAttributes()
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	sort.Strings(names)
	var problems, fixes []string
	for _, name := range names {
		got, ok := resp.GetCustomAttributes()[name]
		typ := strings.TrimPrefix(want[name].String(), "INDEXED_VALUE_TYPE_")
		typ = strings.ToUpper(typ[:1]) + strings.ToLower(typ[1:])
		switch {
		case !ok:
			problems = append(problems, name+" is missing")
			fixes = append(fixes, fmt.Sprintf("temporal operator search-attribute create --namespace %s --name %s --type %s", namespace, name, typ))
		case got != want[name]:
			problems = append(problems, fmt.Sprintf("%s is %s, not %s", name, strings.TrimPrefix(got.String(), "INDEXED_VALUE_TYPE_"), strings.ToUpper(typ)))
			fixes = append(fixes, fmt.Sprintf("%s has the wrong type; a search attribute's type cannot change, so use a fresh namespace", name))
		}
	}
	if len(problems) > 0 {
		check.Detail = strings.Join(problems, "; ")
		check.Fix = strings.Join(fixes, "; ")
		return check
	}
	check.OK = true
	check.Detail = strings.Join(names, ", ") + " registered"
	return check
}

func workerCheck(ctx context.Context, c client.Client, taskQueue string) Check {
	check := Check{Name: "worker"}
	var found []string
	var identities []string
	var latest time.Time
	for _, kind := range []struct {
		name string
		typ  enumspb.TaskQueueType
	}{{"workflow", enumspb.TASK_QUEUE_TYPE_WORKFLOW}, {"activity", enumspb.TASK_QUEUE_TYPE_ACTIVITY}} {
		resp, err := c.DescribeTaskQueue(ctx, taskQueue, kind.typ)
		if err != nil {
			check.Detail = fmt.Sprintf("describe task queue %s: %v", taskQueue, err)
			check.Fix = "check that trailgate's Temporal identity may describe task queues"
			return check
		}
		n := 0
		for _, p := range resp.GetPollers() {
			at := p.GetLastAccessTime().AsTime()
			if time.Since(at) > pollerFreshness {
				continue
			}
			n++
			if at.After(latest) {
				latest = at
			}
			if !slices.Contains(identities, p.GetIdentity()) {
				identities = append(identities, p.GetIdentity())
			}
		}
		if n == 0 {
			check.Detail = fmt.Sprintf("no worker polled task queue %s for %s tasks in the last %s", taskQueue, kind.name, pollerFreshness)
			check.Fix = fmt.Sprintf("start bin/trailgate-worker with the same temporal.address, namespace and task_queue (%s)", taskQueue)
			return check
		}
		found = append(found, fmt.Sprintf("%d %s", n, kind.name))
	}
	check.OK = true
	check.Detail = fmt.Sprintf("%s poller(s) on %s (%s), last poll %s ago", strings.Join(found, " and "), taskQueue,
		strings.Join(identities, ", "), time.Since(latest).Round(time.Second))
	return check
}

func awsChecks(ctx context.Context, cfg config.Config, timeout time.Duration) []Check {
	if len(cfg.Organizations) == 0 {
		return []Check{{
			Name:   "organizations",
			Detail: "no organization is configured",
			Fix:    "list the organizations to change under organizations: (name, management_account_id, and role_arn with external_id when a role is assumed)",
		}}
	}
	checks := make([]Check, len(cfg.Organizations))
	fctx, cancel := context.WithTimeout(ctx, timeout)
	factory, err := awsclient.NewFactory(fctx, cfg.AWS, nil)
	cancel()
	if err != nil {
		for i, o := range cfg.Organizations {
			checks[i] = Check{Name: "aws/" + o.Name, Detail: err.Error(),
				Fix: "fix the AWS configuration: aws.region, aws.profile, aws.config_file and aws.credentials_file, or the AWS_* environment"}
		}
		return checks
	}
	var wg sync.WaitGroup
	for i, o := range cfg.Organizations {
		wg.Go(func() {
			octx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			checks[i] = organizationCheck(octx, factory, o, cfg.AWS.EndpointURL)
		})
	}
	wg.Wait()
	return checks
}

// organizationCheck asks AWS who trailgate is in the organization and
// whether that is the organization's management account.
func organizationCheck(ctx context.Context, f *awsclient.Factory, org config.Organization, endpoint string) Check {
	check := Check{Name: "aws/" + org.Name}
	credentials := "the default credential chain"
	if org.RoleARN != "" {
		credentials = "role " + org.RoleARN
	}
	clients, err := f.ForOrganization(ctx, org, awsclient.Session{})
	if err != nil {
		check.Detail = err.Error()
		check.Fix = "fix the organization's entry in the configuration"
		return check
	}
	who, err := clients.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		var netErr *net.OpError
		if errors.As(err, &netErr) {
			check.Detail = fmt.Sprintf("cannot reach AWS: %v", netErr)
			check.Fix = "check the network path to AWS"
			if endpoint != "" {
				check.Fix = fmt.Sprintf("start the AWS endpoint at %s (bin/trailgate-worker --dev runs the AWS sandbox) or correct aws.endpoint_url", endpoint)
			}
			return check
		}
		check.Detail = fmt.Sprintf("ask AWS who trailgate is through %s: %s", credentials, awsMessage(err))
		check.Fix = "check the base AWS credentials (aws.profile, aws.credentials_file or the default chain)"
		if org.RoleARN != "" {
			check.Fix += fmt.Sprintf(", and that %s trusts them with external_id %q", org.RoleARN, org.ExternalID)
		}
		return check
	}
	account, arn := aws.ToString(who.Account), aws.ToString(who.Arn)
	if account != org.ManagementAccountID {
		check.Detail = fmt.Sprintf("%s is in account %s, not management account %s", arn, account, org.ManagementAccountID)
		check.Fix = fmt.Sprintf("use credentials of account %s, or set role_arn to a role in it that trailgate may assume", org.ManagementAccountID)
		return check
	}
	desc, err := clients.Organizations.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		check.Detail = fmt.Sprintf("%s cannot describe its organization: %s", arn, awsMessage(err))
		check.Fix = "allow organizations:DescribeOrganization to trailgate's identity in the management account"
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "AWSOrganizationsNotInUseException" {
			check.Fix = fmt.Sprintf("account %s is in no organization; correct management_account_id", account)
		}
		return check
	}
	o := desc.Organization
	master := aws.ToString(o.MasterAccountId)
	// account is the configured management account here: the check refuses
	// an organization managed from another account, or without all features.
	err = activities.CheckManagementAccount(
		activities.OrgInput{Organization: org.Name, ManagementAccountID: org.ManagementAccountID},
		activities.Identity{AccountID: account, ARN: arn, OrganizationID: aws.ToString(o.Id), ManagementAccountID: master, FeatureSet: string(o.FeatureSet)})
	var refused *temporal.ApplicationError
	switch {
	case err == nil:
		check.OK = true
		check.Detail = fmt.Sprintf("%s is management account %s of %s (all features)", arn, account, aws.ToString(o.Id))
		permissionCheck(ctx, clients.IAM, policySource(org, arn), &check)
	case errors.As(err, &refused) && refused.Type() == activities.ErrNotAllFeatures:
		check.Detail = fmt.Sprintf("%s has feature set %s", aws.ToString(o.Id), o.FeatureSet)
		check.Fix = "enable all features in the organization; trusted access needs them"
	default:
		check.Detail = fmt.Sprintf("account %s is a member of %s, whose management account is %s", account, aws.ToString(o.Id), master)
		check.Fix = fmt.Sprintf("set management_account_id to %s and reach it (role_arn) there: trusted access is changed from the management account only", master)
	}
	return check
}

// policySource is the IAM principal whose policies trailgate acts with:
// the organization's role, else the caller behind the default chain (an
// assumed role's role, without its path, or a user); empty for the root.
func policySource(org config.Organization, callerARN string) string {
	if org.RoleARN != "" {
		return org.RoleARN
	}
	if rest, ok := strings.CutPrefix(callerARN, "arn:aws:sts::"); ok {
		account, session, _ := strings.Cut(rest, ":assumed-role/")
		role, _, _ := strings.Cut(session, "/")
		return "arn:aws:iam::" + account + ":role/" + role
	}
	if strings.HasSuffix(callerARN, ":root") {
		return ""
	}
	return callerARN
}

// permissionCheck asks IAM's policy simulator whether principal may do
// each action trailgate uses (iam.Needed, which the policy it ships
// grants), on the resources and with the condition values its calls carry.
// A missing action fails the check; a simulation that cannot run is a
// warning.
func permissionCheck(ctx context.Context, client *awsiam.Client, principal string, check *Check) {
	if principal == "" {
		return
	}
	var missing []string
	for _, st := range shippediam.Needed {
		in := &awsiam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(principal), ActionNames: st.Actions}
		for _, r := range st.Resources {
			if r == "*" {
				continue
			}
			in.ResourceArns = append(in.ResourceArns, strings.ReplaceAll(r, "${aws:PrincipalArn}", principal))
		}
		in.ContextEntries = append(in.ContextEntries, iamtypes.ContextEntry{
			ContextKeyName: aws.String("aws:PrincipalArn"), ContextKeyValues: []string{principal}, ContextKeyType: iamtypes.ContextKeyTypeEnumString,
		})
		for _, keys := range st.Conditions {
			for key, values := range keys {
				in.ContextEntries = append(in.ContextEntries, iamtypes.ContextEntry{
					ContextKeyName: aws.String(key), ContextKeyValues: values[:1], ContextKeyType: iamtypes.ContextKeyTypeEnumString,
				})
			}
		}
		out, err := client.SimulatePrincipalPolicy(ctx, in)
		if err != nil {
			check.Warn = true
			check.Detail += fmt.Sprintf("; doctor could not check its permissions: %s", awsMessage(err))
			check.Fix = fmt.Sprintf("allow iam:SimulatePrincipalPolicy on %s to itself, as iam/trailgate-role-policy.json does, so that doctor can check its permissions", principal)
			return
		}
		for _, r := range out.EvaluationResults {
			if a := aws.ToString(r.EvalActionName); r.EvalDecision != iamtypes.PolicyEvaluationDecisionTypeAllowed && !slices.Contains(missing, a) {
				missing = append(missing, a)
			}
		}
	}
	if len(missing) > 0 {
		check.OK = false
		check.Detail = fmt.Sprintf("%s lacks %s, which trailgate needs", principal, strings.Join(missing, ", "))
		check.Fix = fmt.Sprintf("attach iam/trailgate-role-policy.json to %s as its identity policy", principal)
		if _, role, ok := strings.Cut(principal, ":role/"); ok {
			check.Fix += fmt.Sprintf(" (aws iam put-role-policy --role-name %s --policy-name trailgate --policy-document file://iam/trailgate-role-policy.json)", role[strings.LastIndex(role, "/")+1:])
		}
	}
}

func awsMessage(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode() + ": " + api.ErrorMessage()
	}
	return err.Error()
}

// failedChecks is the error of a doctor run that found something off:
// exit status 1.
func failedChecks(r DoctorReport) error {
	failed := 0
	for _, c := range r.Checks {
		if !c.OK {
			failed++
		}
	}
	if failed == 0 {
		return nil
	}
	return &exitError{code: ExitChangeFailed, err: fmt.Errorf("doctor: %d of %d checks failed", failed, len(r.Checks))}
}

func newDoctorCommand() *cobra.Command {
	in := DoctorInput{Timeout: 10 * time.Second}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check that Temporal, the worker and every organization's AWS access are ready",
		Long: `Check, in order: identity.worker_key parses (decisions are sealed to it);
whether claims are accepted (identity.allow_claims: a warning, not a failure);
Temporal answers; the namespace exists; trailgate's search attributes are
registered with their types; a worker polls the task queue; and, for each
organization, its credentials (role_arn or the default chain) reach its
management account, which runs all features.

Prints a table (CHECK, STATUS, DETAIL, FIX) or, with --json:
  {"ok": bool, "checks": [{"name": string, "ok": bool, "warn"?: bool, "detail": string, "fix": string}]}
Check names: configuration, identity, claims, temporal, namespace,
search-attributes, worker, aws/<organization> (or organizations when none is
configured).

Exit status: 0 every check passed, 1 a check failed, 2 usage or configuration error.`,
		Example: "  trailgate doctor\n  trailgate --config .trailgate/trailgate.yaml doctor --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(config.LoadOptions{Flags: cmd.Flags()})
			if err != nil {
				return err
			}
			if in.Logger, err = cliLogger(cfg, cmd.ErrOrStderr()); err != nil {
				return err
			}
			in.Config, in.Source = cfg, configSource(cmd)
			report, err := Doctor(cmd.Context(), in)
			if err != nil {
				return err
			}
			if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
				err = writeJSON(cmd.OutOrStdout(), report)
			} else {
				err = writeDoctorTable(cmd.OutOrStdout(), report)
			}
			return errors.Join(err, failedChecks(report))
		},
	}
	cmd.Flags().DurationVar(&in.Timeout, "timeout", in.Timeout, "how long each check may take")
	return cmd
}
