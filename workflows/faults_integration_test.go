package workflows_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"go.temporal.io/sdk/client"

	"github.com/trailgate/trailgate/internal/awssandbox"
	"github.com/trailgate/trailgate/internal/testenv"
	"github.com/trailgate/trailgate/workflows"
)

// approve takes a change through its approval gate (alice's and bob's
// approvals of its one wave) and returns how it ended.
func approve(t *testing.T, env *testenv.Env, run client.WorkflowRun) workflows.ChangeProgress {
	t.Helper()
	id := run.GetID()
	if p := waitChange(t, env, id, func(p workflows.ChangeProgress) bool { return awaitingWave(1)(p) || final(p) }); final(p) {
		return p
	}
	approveWave(t, env, id, 1)
	return waitChange(t, env, id, final)
}

// final is true of a change that has ended.
func final(p workflows.ChangeProgress) bool { return p.Phase.Final() }

// outcome says how a change and each of its organizations ended, and why
// an organization failed.
func outcome(p workflows.ChangeProgress) string {
	s := string(p.Phase)
	for _, tg := range p.Targets {
		s += fmt.Sprintf("; %s %s", tg.Organization, tg.Phase)
		if tg.Error != "" {
			s += ": " + tg.Error
		}
	}
	return s
}

// approveDisable takes a disable through its gates: carol's cleanup
// confirmation for every organization, acknowledging that member-account
// logging stops, then alice's and bob's approvals.
func approveDisable(t *testing.T, env *testenv.Env, run client.WorkflowRun) workflows.ChangeProgress {
	t.Helper()
	id := run.GetID()
	p := waitChange(t, env, id, func(p workflows.ChangeProgress) bool {
		for _, tg := range p.Targets {
			if tg.Phase != workflows.PhaseAwaitingCleanup {
				return final(p)
			}
		}
		return len(p.Targets) > 0
	})
	if final(p) {
		return p
	}
	mustUpdate(t, env, id, workflows.UpdateConfirmCleanup, cleanup(t, env, "carol", id, true))
	return approve(t, env, run)
}

// AWS shows trusted access only seconds after a change (the sandbox's
// propagation delay, on by default in tests): verification reads until AWS
// shows the change, and the evidence says it took more than one read.
func TestVerificationReadsUntilAWSShowsTheChange(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	v := view(t, env, "globex")

	p := approve(t, env, start(t, env, request(t, env, "enable-eventually", workflows.ActionEnable, "globex")))
	if ev := p.Targets[0].Evidence; p.Phase != workflows.PhaseSucceeded || ev == nil || !ev.TrustedAccess || ev.Checks < 2 {
		t.Fatalf("enable ended %s with evidence %+v; want trusted access seen after more than one read", outcome(p), ev)
	}
	t.Logf("enable verified after %d reads", p.Targets[0].Evidence.Checks)
	if !v.trustedAccess() {
		t.Fatal("AWS does not list trusted access after a verified enable")
	}

	p = approveDisable(t, env, start(t, env, request(t, env, "disable-eventually", workflows.ActionDisable, "globex")))
	if ev := p.Targets[0].Evidence; p.Phase != workflows.PhaseSucceeded || ev == nil || ev.TrustedAccess || ev.Checks < 2 {
		t.Fatalf("disable ended %s with evidence %+v; want trusted access gone after more than one read", outcome(p), ev)
	}
	t.Logf("disable verified after %d reads", p.Targets[0].Evidence.Checks)
	if v.trustedAccess() {
		t.Fatal("AWS still lists trusted access after a verified disable")
	}
}

// Every mutation trailgate makes commits in AWS and then loses its
// response, by turns as an HTTP 500 and as a dropped connection: the retries
// meet what the first attempt made ("has been taken", a trail that exists,
// a bucket one owns), and the enable and the disable still succeed with AWS
// agreeing. Lost once, the AWS SDK's own retry meets it; lost as often as
// the SDK tries, the activity fails and Temporal's retry reads AWS again.
// acme-prod gets a new trail and bucket; acme-staging has a trail of its own
// that trailgate converts.
func TestEveryMutationConvergesWhenItsResponseIsLost(t *testing.T) {
	for _, tc := range []struct {
		name  string
		times int
	}{
		{"once", 1},
		{"on every attempt of the AWS SDK", retry.DefaultMaxAttempts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mutationsLose(t, tc.times)
		})
	}
}

func mutationsLose(t *testing.T, times int) {
	env := testenv.Start(t, testenv.Options{})
	prod, staging := view(t, env, "acme-prod"), view(t, env, "acme-staging")
	hands(staging).ownTrail()

	// lose loses the responses of each operation in the organization's
	// management account, by turns as a 500 and as a dropped connection.
	turn := 0
	lose := func(v *awsView, ops ...string) []awssandbox.Fault {
		var faults []awssandbox.Fault
		for _, op := range ops {
			f := awssandbox.Fault{Service: service(op), Operation: op, AccountID: v.org.ManagementAccountID, Applied: true, Count: times}
			if turn%2 == 0 {
				f.Error = "ServiceException"
			} else {
				f.Drop = true
			}
			turn++
			faults = append(faults, f)
		}
		return faults
	}
	faults := append(
		lose(prod, "EnableAWSServiceAccess", "CreateServiceLinkedRole", "CreateBucket", "PutBucketPolicy", "CreateTrail", "StartLogging"),
		lose(staging, "EnableAWSServiceAccess", "CreateServiceLinkedRole", "PutBucketPolicy", "UpdateTrail", "StartLogging")...)
	env.AWS.Sandbox.SetFaults(faults)
	p := approve(t, env, start(t, env, request(t, env, "enable-lost", workflows.ActionEnable, "acme-prod", "acme-staging")))
	if p.Phase != workflows.PhaseSucceeded {
		t.Fatalf("enable ended %s", outcome(p))
	}
	allFired(t, env, faults, times)
	for _, v := range []*awsView{prod, staging} {
		if !v.trustedAccess() || !v.role() || !v.logging(v.org.MemberAccountIDs[0]) {
			t.Errorf("%s after the enable: trusted access %t, role %t, member logging %t",
				v.org.Name, v.trustedAccess(), v.role(), v.logging(v.org.MemberAccountIDs[0]))
		}
	}

	faults = append(lose(prod, "DisableAWSServiceAccess"), lose(staging, "DisableAWSServiceAccess")...)
	env.AWS.Sandbox.SetFaults(faults)
	p = approveDisable(t, env, start(t, env, request(t, env, "disable-lost", workflows.ActionDisable, "acme-prod", "acme-staging")))
	if p.Phase != workflows.PhaseSucceeded {
		t.Fatalf("disable ended %s", outcome(p))
	}
	allFired(t, env, faults, times)
	for _, v := range []*awsView{prod, staging} {
		if v.trustedAccess() || v.logging(v.org.MemberAccountIDs[0]) || !v.trailExists() {
			t.Errorf("%s after the disable: trusted access %t, member logging %t, trail kept %t",
				v.org.Name, v.trustedAccess(), v.logging(v.org.MemberAccountIDs[0]), v.trailExists())
		}
	}
}

// Every service trailgate calls (Organizations, IAM, CloudTrail, S3 and
// STS) throttles 30% of requests and answers 5% with a 500 after making the
// change; the first requests to each service are throttled as often as the
// AWS SDK tries, so that an activity fails and Temporal's retry, not only
// the SDK's, is needed. An enable and a disable still succeed, and AWS
// agrees.
func TestChangesConvergeWhenEveryServiceThrottlesAndFails(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Sandbox: awssandbox.Options{Seed: 30}})
	var faults []awssandbox.Fault
	for _, svc := range []string{"organizations", "iam", "cloudtrail", "s3", "sts"} {
		throttle := "ThrottlingException"
		if svc == "organizations" {
			throttle = "TooManyRequestsException"
		}
		faults = append(faults,
			awssandbox.Fault{Service: svc, Error: throttle, Count: retry.DefaultMaxAttempts},
			awssandbox.Fault{Service: svc, Error: throttle, Probability: 0.3},
			// Drawn only for the 70% not throttled: 5% of all requests.
			awssandbox.Fault{Service: svc, Error: "ServiceException", Applied: true, Probability: 0.05 / 0.7})
	}

	env.AWS.Sandbox.SetFaults(faults)
	p := approve(t, env, start(t, env, request(t, env, "enable-unreliable", workflows.ActionEnable, "globex")))
	t.Logf("faults fired during the enable: %s", firedByService(faults, env.AWS.Sandbox.Fired()))
	env.AWS.Sandbox.SetFaults(nil)
	if p.Phase != workflows.PhaseSucceeded {
		t.Fatalf("enable ended %s", outcome(p))
	}
	v := view(t, env, "globex")
	if !v.trustedAccess() || !v.role() || !v.logging(v.org.MemberAccountIDs[0]) {
		t.Fatalf("after the enable: trusted access %t, role %t, member logging %t", v.trustedAccess(), v.role(), v.logging(v.org.MemberAccountIDs[0]))
	}

	env.AWS.Sandbox.SetFaults(faults)
	p = approveDisable(t, env, start(t, env, request(t, env, "disable-unreliable", workflows.ActionDisable, "globex")))
	t.Logf("faults fired during the disable: %s", firedByService(faults, env.AWS.Sandbox.Fired()))
	env.AWS.Sandbox.SetFaults(nil)
	if p.Phase != workflows.PhaseSucceeded {
		t.Fatalf("disable ended %s", outcome(p))
	}
	v = view(t, env, "globex")
	if v.trustedAccess() || !v.role() || !v.trailExists() || v.logging(v.org.MemberAccountIDs[0]) {
		t.Fatalf("after the disable: trusted access %t, role %t, trail %t, member logging %t",
			v.trustedAccess(), v.role(), v.trailExists(), v.logging(v.org.MemberAccountIDs[0]))
	}
}

// service is the service of an API operation trailgate mutates with.
func service(op string) string {
	switch op {
	case "EnableAWSServiceAccess", "DisableAWSServiceAccess":
		return "organizations"
	case "CreateServiceLinkedRole":
		return "iam"
	case "CreateBucket", "PutBucketPolicy":
		return "s3"
	}
	return "cloudtrail"
}

// allFired fails the test unless every fault fired the given number of
// times: each mutation was made, and its responses lost.
func allFired(t *testing.T, env *testenv.Env, faults []awssandbox.Fault, times int) {
	t.Helper()
	for i, n := range env.AWS.Sandbox.Fired() {
		if n != times {
			f := faults[i]
			t.Errorf("the fault on %s in account %s fired %d times, want %d", f.Operation, f.AccountID, n, times)
		}
	}
}

// firedByService says how often the faults, in threes per service (a burst
// of throttles, throttles, 500s), fired.
func firedByService(faults []awssandbox.Fault, fired []int) string {
	var parts []string
	for i := 0; i+2 < len(faults); i += 3 {
		parts = append(parts, fmt.Sprintf("%s %d+%d throttled, %d 500", faults[i].Service, fired[i], fired[i+1], fired[i+2]))
	}
	return strings.Join(parts, "; ")
}
