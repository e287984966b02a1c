package devmode

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/brief"
)

// bannerOrganizations is how many organizations the banner lists the AWS
// profiles of, one by one.
const bannerOrganizations = 5

// WriteBanner tells a person what runs where and what to type next. Paths
// are shown relative to the working directory when they are inside it.
func (e *Environment) WriteBanner(w io.Writer) {
	c := e.Config
	cwd, _ := os.Getwd()
	rel := func(p string) string {
		if cwd == "" {
			return p
		}
		if r, err := filepath.Rel(cwd, p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
		return p
	}
	var orgs []string
	for _, o := range c.Organizations {
		orgs = append(orgs, o.Name)
	}
	rule := strings.Repeat("─", 72)

	fmt.Fprintln(w, rule)
	fmt.Fprintln(w, "trailgate dev default is running")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  Temporal      %s  (namespace %s, task queue %s)\n", c.Temporal.Address, c.Temporal.Namespace, c.Temporal.TaskQueue)
	fmt.Fprintf(w, "  Temporal UI   %s\n", c.Temporal.UIURL)
	fmt.Fprintf(w, "  AWS sandbox   %s  (organizations %s)\n", c.AWS.EndpointURL, brief.List(orgs, 5))
	fmt.Fprintf(w, "  Data          %s  (kept across restarts; delete it to start afresh)\n", rel(e.DataDir)+string(filepath.Separator))
	fmt.Fprintf(w, "  Configuration %s\n", rel(e.ConfigFile))
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  People of the demo: %s requests; %s approve (%d approvals, never the requester's own);\n",
		DemoRequester, strings.Join(c.Approvals.Approvers, " and "), c.Approvals.Required)
	fmt.Fprintf(w, "  %s confirms CloudTrail cleanup. Each proves who they are with the AWS profile of their name\n", strings.Join(c.Approvals.CloudTrailAdmins, ", "))
	fmt.Fprintf(w, "  (--profile %s): the worker checks a signed sts:GetCallerIdentity against the sandbox's STS.\n", DemoRequester)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "  The AWS CLI against the sandbox, as an organization's management account:")
	profile := c.AWS.Profile
	if len(c.Organizations) > 0 {
		profile = c.Organizations[0].Name + "-management"
	}
	// --endpoint-url is spelled out: AWS CLI versions before 1.29 and 2.13
	// ignore the endpoint_url of a profile.
	fmt.Fprintf(w, "    AWS_CONFIG_FILE=%s AWS_SHARED_CREDENTIALS_FILE=%s \\\n      aws --endpoint-url %s --profile %s organizations describe-organization\n",
		rel(c.AWS.ConfigFile), rel(c.AWS.CredentialsFile), c.AWS.EndpointURL, profile)
	switch {
	case len(c.Organizations) > bannerOrganizations:
		// Four profiles an organization: name their pattern, not each.
		fmt.Fprintf(w, "    profiles: ORG-management, ORG-member-1, ORG-member-2 for each organization ORG, and %s\n", e.AWS.OperatorProfile)
		fmt.Fprintf(w, "    as trailgate does, through the organization's role (AWS CLI 1.29 / 2.13 or later): ORG-%s\n", strings.ToLower(awssandbox.DevRoleName))
	case len(e.AWS.Profiles) > 0:
		fmt.Fprintf(w, "    profiles: %s\n", strings.Join(e.AWS.Profiles, ", "))
		fmt.Fprintf(w, "    as trailgate does, through the organization's role (AWS CLI 1.29 / 2.13 or later): %s\n", strings.Join(e.AWS.RoleProfiles, ", "))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "  Next, in another terminal:")
	for _, line := range FirstCommands(rel(e.ConfigFile)) {
		fmt.Fprintf(w, "    %s\n", line)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "  Ctrl-C stops everything; bin/trailgate-worker --dev starts it again where it was.")
	fmt.Fprintln(w, rule)
}

// FirstCommands are what a person types first with the configuration in
// configFile: doctor, whoami as an approver, and the demo's first change,
// requested by DemoRequester.
func FirstCommands(configFile string) []string {
	cli := "bin/trailgate --config " + configFile
	return []string{
		cli + " doctor",
		cli + " whoami --profile alice",
		cli + " enable --all --waves 1,rest --profile " + DemoRequester + ` --reason "first change"`,
	}
}
