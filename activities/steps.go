package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// An organization's workflow makes its calls in few activities: at a
// thousand organizations, each activity is some four writes to Temporal's
// store, and the calls of one phase of the procedure (survey, apply,
// confirm) gain nothing in history from an activity each.

// Survey is what an organization's preflight and first read found.
type Survey struct {
	Identity Identity `json:"identity"`
	State    State    `json:"state"`
}

// SurveyOrganization is Preflight, then ReadState, in one activity, which
// asks DescribeOrganization once for both.
func (a *Activities) SurveyOrganization(ctx context.Context, in OrgInput) (Survey, error) {
	c, err := a.forOrg(ctx, in)
	if err != nil {
		return Survey{}, err
	}
	id, org, err := preflight(ctx, c, in)
	if err != nil {
		return Survey{}, err
	}
	st, err := readState(ctx, c, in, org)
	if err != nil {
		return Survey{}, err
	}
	return Survey{Identity: id, State: st}, nil
}

// MutationKind names one mutation ApplyMutations can make.
type MutationKind string

// The mutations, in the order a plan makes them.
const (
	MutateEnableTrustedAccess MutationKind = "enable-trusted-access"
	MutateCreateRole          MutationKind = "create-service-linked-role"
	MutateRegisterAdmins      MutationKind = "register-delegated-administrators"
	MutateBucketPolicy        MutationKind = "ensure-bucket-policy"
	MutateOrganizationTrail   MutationKind = "ensure-organization-trail"
)

// ApplyInput is a plan's mutations for one organization, made in order.
type ApplyInput struct {
	TrailInput
	Mutations []MutationKind `json:"mutations"`
	// Expect, when set, is what AWS showed when the plan was made: the
	// organization is read again first, and when AWS shows anything else
	// nothing is made.
	Expect *State `json:"expect,omitempty"`
	// Since is when the plan was released: an attempt that takes over from
	// one cut short looks up in CloudTrail the calls made since then in
	// the change's session that it did not make itself.
	Since time.Time `json:"since,omitempty"`
}

// ApplyResult is what ApplyMutations made, or, when AWS no longer showed
// what the plan was made from, what it shows instead (and nothing made).
// When it fails, its error carries an ApplyResult as details: what was
// made before, and the step that failed.
type ApplyResult struct {
	Changed *State    `json:"changed,omitempty"`
	Applied []Applied `json:"applied"`
	// Failed is the step that failed: a mutation, or ReadAgain.
	Failed MutationKind `json:"failed,omitempty"`
	// Earlier are the calls earlier attempts made, which a retry finds in
	// CloudTrail: their own results were lost with them.
	Earlier []Call `json:"earlier,omitempty"`
}

// ReadAgain is ApplyMutations' read of the organization before it acts,
// as ApplyResult.Failed names it.
const ReadAgain MutationKind = "read-again"

// Applied is one mutation made, with its AWS requests; Trail is the
// organization trail that MutateOrganizationTrail left logging.
type Applied struct {
	Kind MutationKind `json:"kind"`
	Mutation
	Trail *TrailState `json:"trail,omitempty"`
}

// ApplyMutations makes a plan's mutations in order, each idempotent, so a
// retry makes again only what AWS does not yet show. When one fails, the
// error is that mutation's, with what was applied before it as its
// details: the change record keeps every request made.
func (a *Activities) ApplyMutations(ctx context.Context, in ApplyInput) (ApplyResult, error) {
	if in.Expect != nil {
		now, err := a.ReadState(ctx, in.OrgInput)
		if err != nil {
			return ApplyResult{}, failedIn(err, ApplyResult{Applied: []Applied{}, Failed: ReadAgain}, false)
		}
		expect := *in.Expect
		if activity.GetInfo(ctx).Attempt > 1 {
			// An earlier attempt may have made some of the plan: only
			// what the plan does not touch must still match.
			now, expect = untouched(now, in.Mutations), untouched(expect, in.Mutations)
		}
		if !sameState(now, expect) {
			return ApplyResult{Changed: &now, Applied: []Applied{}}, nil
		}
	}
	applied, err := a.applyAll(ctx, in)
	res := ApplyResult{Applied: applied}
	if err == nil && activity.GetInfo(ctx).Attempt > 1 && !in.Since.IsZero() {
		res.Earlier = a.earlierCalls(ctx, in.OrgInput, in.Since.Truncate(time.Second), applied)
	}
	return res, err
}

// untouched is st without what mutations change.
func untouched(st State, mutations []MutationKind) State {
	for _, k := range mutations {
		switch k {
		case MutateEnableTrustedAccess:
			st.TrustedAccess, st.DateEnabled = false, nil
		case MutateCreateRole:
			st.ServiceLinkedRole = false
		case MutateRegisterAdmins:
			st.DelegatedAdministrators = nil
		case MutateBucketPolicy:
			st.BucketPolicyReady = false
		case MutateOrganizationTrail:
			st.Trail = nil
		}
	}
	return st
}

// sameState says whether two reads of an organization show the same.
func sameState(a, b State) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

func (a *Activities) applyAll(ctx context.Context, in ApplyInput) ([]Applied, error) {
	applied := make([]Applied, 0, len(in.Mutations))
	for i, kind := range in.Mutations {
		done := Applied{Kind: kind}
		var err error
		switch kind {
		case MutateEnableTrustedAccess:
			done.Mutation, err = a.EnableTrustedAccess(ctx, in.OrgInput)
		case MutateCreateRole:
			done.Mutation, err = a.EnsureServiceLinkedRole(ctx, in.OrgInput)
		case MutateRegisterAdmins:
			done.Mutation, err = a.RegisterDelegatedAdministrators(ctx, in.OrgInput)
		case MutateBucketPolicy:
			done.Mutation, err = a.EnsureTrailBucket(ctx, in.TrailInput)
		case MutateOrganizationTrail:
			var tm TrailMutation
			tm, err = a.EnsureOrganizationTrail(ctx, in.TrailInput)
			done.Mutation, done.Trail = tm.Mutation, &tm.TrailState
		default:
			err = temporal.NewNonRetryableApplicationError(fmt.Sprintf("unknown mutation %q: this worker is older than the workflow that asked for it", kind), "UnknownMutation", nil)
		}
		if err != nil {
			return applied, failedIn(err, ApplyResult{Applied: applied, Failed: kind}, i > 0 && furtherThanBefore(ctx, i))
		}
		applied = append(applied, done)
	}
	return applied, nil
}

// quickRetry is how soon a plan is tried again after an attempt that got
// further than any before it failed: as soon as a call of its own would
// be tried again the first time. Without it, the retries of one activity
// that makes several mutations would back off as if one mutation had
// failed again and again: six responses lost in a row waited a minute.
const quickRetry = time.Second

// furtherThanBefore says whether a failure at the mutation at index i is
// further into the plan than any earlier attempt got, and remembers i for
// the next attempt (in the activity's heartbeat).
func furtherThanBefore(ctx context.Context, i int) bool {
	furthest := 0
	if activity.HasHeartbeatDetails(ctx) && activity.GetHeartbeatDetails(ctx, &furthest) != nil {
		furthest = 0
	}
	if i <= furthest {
		return false
	}
	activity.RecordHeartbeat(ctx, i)
	return true
}

// failedIn is err, as Temporal will retry it or not, with res as its
// details; soon, it is retried after quickRetry, unless AWS said when.
func failedIn(err error, res ApplyResult, soon bool) error {
	var delay time.Duration
	if soon {
		delay = quickRetry
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return temporal.NewApplicationErrorWithOptions(err.Error(), "", temporal.ApplicationErrorOptions{Cause: err, Details: []any{res}, NextRetryDelay: delay})
	}
	if d := appErr.NextRetryDelay(); d != 0 {
		delay = d
	}
	return temporal.NewApplicationErrorWithOptions(appErr.Message(), appErr.Type(), temporal.ApplicationErrorOptions{
		NonRetryable:   appErr.NonRetryable(),
		Cause:          appErr.Unwrap(),
		Details:        []any{res},
		NextRetryDelay: delay,
		Category:       appErr.Category(),
	})
}

// ConfirmInput is what to read back after an organization's mutations.
type ConfirmInput struct {
	VerifyInput
	// Disable: read back a disable (VerifyDisabled); otherwise an enable
	// or a rollback (VerifyEnabled), which a member account then probes.
	Disable bool `json:"disable,omitempty"`
	// Calls are the AWS requests the mutations made, to find in
	// CloudTrail's management events.
	Calls []Call `json:"calls,omitempty"`
}

// Confirmation is what reading back found: the evidence, what a member
// account sees, and the mutations' CloudTrail events (or why they were not
// looked up, which never fails the organization).
type Confirmation struct {
	Evidence    Evidence     `json:"evidence"`
	Probe       *MemberProbe `json:"probe,omitempty"`
	Events      *Events      `json:"events,omitempty"`
	EventsError string       `json:"events_error,omitempty"`
}

// ConfirmChange is verification, the member-account probe and the lookup
// of CloudTrail events in one activity. Verification and the probe fail
// it; the lookup does not.
func (a *Activities) ConfirmChange(ctx context.Context, in ConfirmInput) (Confirmation, error) {
	var c Confirmation
	var err error
	if in.Disable {
		c.Evidence, err = a.VerifyDisabled(ctx, in.VerifyInput)
	} else {
		c.Evidence, err = a.VerifyEnabled(ctx, in.VerifyInput)
	}
	if err != nil {
		return c, err
	}
	if !in.Disable && in.ProbeRoleARN != "" && len(in.TrailARNs) > 0 {
		mp, err := a.ProbeMemberAccount(ctx, in.VerifyInput)
		if err != nil {
			return c, err
		}
		c.Probe = &mp
	}
	if len(in.Calls) > 0 {
		ev, err := a.FindEvents(ctx, EventsInput{OrgInput: in.OrgInput, Calls: in.Calls})
		if err != nil {
			c.EventsError = err.Error()
		} else {
			c.Events = &ev
		}
	}
	return c, nil
}
