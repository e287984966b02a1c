package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ValidationError lists every problem found in a configuration, each saying
// what is wrong and what to do.
type ValidationError struct {
	Problems []string
}

// Error lists the problems, one per line.
func (e *ValidationError) Error() string {
	var b strings.Builder
	if len(e.Problems) == 1 {
		b.WriteString("invalid configuration, 1 problem:")
	} else {
		fmt.Fprintf(&b, "invalid configuration, %d problems:", len(e.Problems))
	}
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p)
	}
	return b.String()
}

// WorkerKeyPrefix starts every worker key (identity.worker_key), naming the
// format of what follows.
const WorkerKeyPrefix = "tgk1:"

var (
	// Organization names end workflow IDs (<change-id>/<org-name>) and label
	// metrics and search attributes; people's names are written in
	// comma-separated lists (TRAILGATE_APPROVALS_APPROVERS) and in records:
	// no slashes, no spaces, no commas.
	namePattern       = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$`)
	accountIDPattern  = regexp.MustCompile(`^[0-9]{12}$`)
	roleARNPattern    = regexp.MustCompile(`^arn:aws[a-z-]*:iam::([0-9]{12}):role/[\w+=,.@/-]{1,512}$`)
	externalIDPattern = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
	regionPattern     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	trailNamePattern  = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{2,127}$`)
	roleNamePattern   = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	// A person's principal is an IAM user or role, or an STS assumed-role
	// session: what sts:GetCallerIdentity answers. Its account is all 12
	// digits or *; after it, * matches any run of characters.
	principalPattern = regexp.MustCompile(`^arn:aws[a-z-]*:(iam::([0-9]{12}):(user|role)/[\w+=,.@/*-]+|sts::([0-9]{12}):assumed-role/[\w+=,.@*-]+/[\w+=,.@*-]+)$`)
)

// Validate checks the configuration and reports every problem at once in a
// *ValidationError; nil means it can be used.
func (c Config) Validate() error {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	t := c.Temporal
	if t.Address == "" {
		add("temporal.address is empty; set the Temporal frontend as host:port, such as 127.0.0.1:7233")
	} else if err := checkHostPort(t.Address); err != nil {
		add("temporal.address %q %v; set the Temporal frontend as host:port, such as 127.0.0.1:7233", t.Address, err)
	}
	if t.Namespace == "" {
		add("temporal.namespace is empty; set the Temporal namespace, such as default")
	}
	if t.TaskQueue == "" {
		add("temporal.task_queue is empty; set the task queue the worker polls, such as trailgate")
	}
	if t.TLS.CertFile != "" && t.TLS.KeyFile == "" {
		add("temporal.tls.cert_file is set without temporal.tls.key_file; mTLS needs both the client certificate and its private key")
	}
	if t.TLS.KeyFile != "" && t.TLS.CertFile == "" {
		add("temporal.tls.key_file is set without temporal.tls.cert_file; mTLS needs both the client certificate and its private key")
	}
	if t.Compression != CompressionGzip && t.Compression != CompressionNone {
		add("temporal.compression is %q; set %s (the default: smaller messages, more CPU) or %s (for a Temporal on this machine or a fast link)", t.Compression, CompressionGzip, CompressionNone)
	}
	if t.UIURL != "" {
		if err := checkHTTPURL(t.UIURL); err != nil {
			add("temporal.ui_url %q %v; set the Temporal UI's base URL, such as http://127.0.0.1:8233, or leave it empty", t.UIURL, err)
		}
	}

	if c.AWS.Region == "" {
		add("aws.region is empty; set the home region of CloudTrail, such as us-east-1")
	} else if !regionPattern.MatchString(c.AWS.Region) {
		add("aws.region %q is not an AWS region name; write it like us-east-1", c.AWS.Region)
	}
	for _, r := range c.AWS.Regions {
		if !regionPattern.MatchString(r) {
			add("aws.regions lists %q, which is not an AWS region name; write regions like eu-west-1", r)
		}
	}
	if dup := firstDuplicate(c.AWS.Regions); dup != "" {
		add("aws.regions lists %q twice; list each region once", dup)
	}
	if c.AWS.EndpointURL != "" {
		if err := checkHTTPURL(c.AWS.EndpointURL); err != nil {
			add("aws.endpoint_url %q %v; set an http(s) URL such as http://127.0.0.1:4566, or leave it empty for AWS itself", c.AWS.EndpointURL, err)
		}
	}

	orgNames := entryNames{
		list:   "organizations",
		empty:  "give the organization a short name such as prod",
		unfit:  "cannot name workflows",
		reused: "give each organization its own name",
	}
	accounts := map[string]int{}
	for i, o := range c.Organizations {
		label := entryLabel("organizations", i, o.Name)
		p = append(p, orgNames.check(i, o.Name)...)
		switch {
		case o.ManagementAccountID == "":
			add("%s: management_account_id is empty; write the management account's 12-digit ID in quotes, such as \"012345678901\"", label)
		case !accountIDPattern.MatchString(o.ManagementAccountID):
			add("%s: management_account_id %q is not a 12-digit AWS account ID; write all 12 digits in quotes, such as \"012345678901\", so that leading zeros are kept", label, o.ManagementAccountID)
		default:
			if first, dup := accounts[o.ManagementAccountID]; dup {
				add("%s: management account %s is already the management account of organizations[%d]; list each organization once", label, o.ManagementAccountID, first)
			} else {
				accounts[o.ManagementAccountID] = i
			}
		}
		if o.RoleARN != "" {
			m := roleARNPattern.FindStringSubmatch(o.RoleARN)
			switch {
			case m == nil:
				add("%s: role_arn %q is not an IAM role ARN; write it like arn:aws:iam::123456789012:role/TrailgateAccess", label, o.RoleARN)
			case accountIDPattern.MatchString(o.ManagementAccountID) && m[1] != o.ManagementAccountID:
				add("%s: role_arn is in account %s but the management account is %s; trusted access can only be changed from the management account, so use a role there", label, m[1], o.ManagementAccountID)
			}
		}
		switch o.Desired {
		case "", DesiredEnabled, DesiredDisabled, DesiredUnmanaged:
		default:
			add("%s: desired is %q; use enabled, disabled or unmanaged, or leave it out to hold the organization to what trailgate last verified", label, o.Desired)
		}
		if o.ProbeAccountID != "" {
			switch {
			case !accountIDPattern.MatchString(o.ProbeAccountID):
				add("%s: probe_account_id %q is not a 12-digit AWS account ID; name a member account in quotes, such as \"012345678901\"", label, o.ProbeAccountID)
			case o.ProbeAccountID == o.ManagementAccountID:
				add("%s: probe_account_id is the management account; the probe looks from a member account, so name one", label)
			}
			if o.ProbeRoleName != "" && !roleNamePattern.MatchString(o.ProbeRoleName) {
				add("%s: probe_role_name %q is not an IAM role name; use up to 64 letters, digits or +=,.@_- characters, such as OrganizationAccountAccessRole", label, o.ProbeRoleName)
			}
		} else if o.ProbeRoleName != "" {
			add("%s: probe_role_name is set without probe_account_id; name the member account to probe, or remove probe_role_name", label)
		}
		p = append(p, delegatedAdministratorProblems(label+": delegated_administrators", o.DelegatedAdministrators)...)
		if o.ExternalID != "" {
			if o.RoleARN == "" {
				add("%s: external_id is set without role_arn; an external ID is only used when assuming a role, so set role_arn or remove external_id", label)
			}
			if n := len(o.ExternalID); n < 2 || n > 1224 || !externalIDPattern.MatchString(o.ExternalID) {
				add("%s: external_id must be 2 to 1224 letters, digits or +=,.@:/-_ characters", label)
			}
		}
	}

	personNames := entryNames{
		list:   "people",
		empty:  "give the person the name that approvals lists them by, such as alice",
		unfit:  "cannot be listed in approvals or records",
		reused: "list each person once, with all the principals that prove them",
	}
	for i, person := range c.People {
		label := entryLabel("people", i, person.Name)
		p = append(p, personNames.check(i, person.Name)...)
		if len(person.Principals) == 0 {
			add("%s: principals is empty, so nobody can prove to be this person; list the AWS principals that prove them, such as arn:aws:iam::111122223333:user/alice", label)
		}
		for _, pr := range person.Principals {
			if !principalPattern.MatchString(pr) {
				add("%s: principal %q is not an IAM or STS ARN; write it like arn:aws:iam::111122223333:user/alice or arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Approvers_*/* (the account is always written out: a * there would match anyone's account)", label, pr)
			}
		}
	}

	id := c.Identity
	if id.STSEndpoint != "" {
		if err := checkHTTPURL(id.STSEndpoint); err != nil {
			add("identity.sts_endpoint %q %v; set STS's http(s) URL, such as %s, or leave it empty for aws.endpoint_url, else AWS's global endpoint", id.STSEndpoint, err, DefaultSTSEndpoint)
		}
	}
	if id.WorkerKey != "" && !strings.HasPrefix(id.WorkerKey, WorkerKeyPrefix) {
		add("identity.worker_key does not start with %s, so it is not a worker key; set it to what trailgate-worker --print-proof-key prints, or leave it empty", WorkerKeyPrefix)
	}

	tr := c.Trail
	if tr.Name != "" {
		if !trailNamePattern.MatchString(tr.Name) {
			add("trail.name %q is not a CloudTrail trail name; use 3 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit", tr.Name)
		}
		if tr.Bucket == "" {
			add("trail.bucket is empty while trail.name is set; name the S3 bucket that receives the organization trail's logs")
		}
	} else if tr.Bucket != "" || tr.KMSKeyID != "" {
		add("trail.bucket or trail.kms_key_id is set without trail.name; set trail.name to manage an organization trail, or remove them")
	}

	p = append(p, delegatedAdministratorProblems("trail.delegated_administrators", tr.DelegatedAdministrators)...)

	a := c.Approvals
	if a.Required < 1 {
		add("approvals.required is %d; a gate needs at least 1 approval", a.Required)
	} else if len(a.Approvers) > 0 && a.Required > len(a.Approvers) {
		add("approvals.required is %d but only %d approvers are listed; list more approvers or require fewer approvals", a.Required, len(a.Approvers))
	}
	if dup := firstDuplicate(a.Approvers); dup != "" {
		add("approvals.approvers lists %q twice; list each approver once", dup)
	}
	if dup := firstDuplicate(a.CloudTrailAdmins); dup != "" {
		add("approvals.cloudtrail_admins lists %q twice; list each administrator once", dup)
	}
	if len(c.People) > 0 {
		for _, list := range approvalLists(a) {
			for i, name := range list.names {
				if !isPerson(c.People, name) && !slices.Contains(list.names[:i], name) {
					add("%s names %s, who is not among people; add %s to people with the AWS principals that prove them, or remove %s from %s", list.key, name, name, name, list.key)
				}
			}
		}
	}
	if a.Timeout <= 0 {
		add("approvals.timeout is %s; set how long a gate waits, such as 168h", a.Timeout)
	}
	if a.ReminderEvery <= 0 {
		add("approvals.reminder_every is %s; set how often waiting people are reminded, such as 24h", a.ReminderEvery)
	} else if a.Timeout > 0 && a.ReminderEvery > a.Timeout {
		add("approvals.reminder_every (%s) is longer than approvals.timeout (%s), so no reminder would be sent; remind more often than the gate expires", a.ReminderEvery, a.Timeout)
	}
	if a.WebhookURL != "" {
		if err := checkHTTPURL(a.WebhookURL); err != nil {
			add("approvals.webhook_url %q %v; set an http(s) URL that accepts JSON POSTs, or leave it empty to log reminders only", a.WebhookURL, err)
		}
	}

	if n := c.Notifications; n.WebhookURL != "" {
		if err := checkHTTPURL(n.WebhookURL); err != nil {
			add("notifications.webhook_url %q %v; set an http(s) URL that accepts POSTs, or leave it empty to log notifications only", n.WebhookURL, err)
		}
	}
	if f := c.Notifications.Format; f != NotificationsJSON && f != NotificationsSlack {
		add("notifications.format is %q; use json or slack", f)
	}
	if c.Audit.Every < time.Minute {
		add("audit.every is %s; audit at most once a minute, such as 6h", c.Audit.Every)
	}

	if c.Metrics.Address != "" {
		if err := checkHostPort(c.Metrics.Address); err != nil {
			add("metrics.address %q %v; set host:port for the Prometheus endpoint, such as 127.0.0.1:9090, or leave it empty", c.Metrics.Address, err)
		}
	}

	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level %q is not a log level; use debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		add("log.format %q is not a log format; use text or json", c.Log.Format)
	}

	d := c.Dev
	if d.DataDir == "" {
		add("dev.data_dir is empty; set the directory where the embedded default keeps its state, such as .trailgate")
	}
	if d.Organizations < 1 || d.Organizations > MaxDevOrganizations {
		add("dev.organizations is %d; seed from 1 to %d sandbox organizations", d.Organizations, MaxDevOrganizations)
	}
	ports := map[int]string{}
	for _, port := range []struct {
		key   string
		value int
	}{{"dev.temporal_port", d.TemporalPort}, {"dev.ui_port", d.UIPort}, {"dev.sandbox_port", d.SandboxPort}} {
		if port.value < 1 || port.value > 65535 {
			add("%s is %d; use a TCP port from 1 to 65535", port.key, port.value)
			continue
		}
		if other, dup := ports[port.value]; dup {
			add("%s is %d, the same as %s; give each embedded service its own port", port.key, port.value, other)
			continue
		}
		ports[port.value] = port.key
	}

	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

// ValidateWorker checks the configuration as Validate does and, besides,
// what the worker alone needs: a key to open sealed proofs, and a way for
// the people that approvals lists to prove who they are. Every problem is
// reported at once in a *ValidationError; nil means the worker can start.
func (c Config) ValidateWorker() error {
	var p []string
	var verr *ValidationError
	if err := c.Validate(); errors.As(err, &verr) {
		p = append(p, verr.Problems...)
	}
	if len(c.People) == 0 && !c.Identity.AllowClaims {
		for _, list := range approvalLists(c.Approvals) {
			if len(list.names) > 0 {
				p = append(p, fmt.Sprintf("%s lists %s, but people is empty, so nobody can prove to be any of them; add them to people with the AWS principals that prove them, or, for a trial, set identity.allow_claims: true to accept names given with --as without proof", list.key, strings.Join(list.names, ", ")))
			}
		}
	}
	if c.Identity.ProofKeyFile == "" {
		p = append(p, "identity.proof_key_file is empty: the worker needs a key to open people's sealed proofs; set it to a file path (the worker creates the key there on first start; every worker of a task queue must share it)")
	}
	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

// approvalList is one of the lists of people in approvals, with its key.
type approvalList struct {
	key   string
	names []string
}

func approvalLists(a Approvals) []approvalList {
	return []approvalList{
		{"approvals.approvers", a.Approvers},
		{"approvals.cloudtrail_admins", a.CloudTrailAdmins},
	}
}

func isPerson(people []Person, name string) bool {
	for _, p := range people {
		if p.Name == name {
			return true
		}
	}
	return false
}

// entryNames checks the names of a list's entries, such as organizations,
// and says in the list's own words how to fix them.
type entryNames struct {
	list   string
	empty  string         // what to do when a name is empty
	unfit  string         // why a name must fit namePattern
	reused string         // what to do when two entries share a name
	first  map[string]int // the entry that first had each name
}

// check checks the name of entry i: given, fit for namePattern, and not
// the name of an earlier entry.
func (n *entryNames) check(i int, name string) []string {
	label := entryLabel(n.list, i, name)
	switch {
	case name == "":
		return []string{fmt.Sprintf("%s: name is empty; %s", label, n.empty)}
	case !namePattern.MatchString(name):
		return []string{fmt.Sprintf("%s: name %q %s; use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", label, name, n.unfit)}
	}
	if first, dup := n.first[name]; dup {
		return []string{fmt.Sprintf("%s: name %q is already used by %s[%d]; %s", label, name, n.list, first, n.reused)}
	}
	if n.first == nil {
		n.first = map[string]int{}
	}
	n.first[name] = i
	return nil
}

// entryLabel names entry i of a list in messages, with its name when it has
// one: "organizations[0] (prod)".
func entryLabel(list string, i int, name string) string {
	if name == "" {
		return fmt.Sprintf("%s[%d]", list, i)
	}
	return fmt.Sprintf("%s[%d] (%s)", list, i, name)
}

func checkHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("is not host:port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return errors.New("has no valid port")
	}
	return nil
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("is not an http or https URL")
	}
	return nil
}

func firstDuplicate(list []string) string {
	seen := map[string]bool{}
	for _, s := range list {
		if seen[s] {
			return s
		}
		seen[s] = true
	}
	return ""
}

// delegatedAdministratorProblems checks a list of CloudTrail delegated
// administrators: account IDs, each once, at most as many as AWS allows.
func delegatedAdministratorProblems(what string, ids []string) []string {
	var p []string
	if n := len(ids); n > MaxDelegatedAdministrators {
		p = append(p, fmt.Sprintf("%s lists %d accounts; AWS allows CloudTrail at most %d delegated administrators", what, n, MaxDelegatedAdministrators))
	}
	for _, id := range ids {
		if !accountIDPattern.MatchString(id) {
			p = append(p, fmt.Sprintf("%s lists %q, which is not a 12-digit AWS account ID; write each member account's ID in quotes, such as \"012345678901\"", what, id))
		}
	}
	if dup := firstDuplicate(ids); dup != "" {
		p = append(p, fmt.Sprintf("%s lists %q twice; list each account once", what, dup))
	}
	return p
}
