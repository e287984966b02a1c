package workflows_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/trailgate/trailgate/activities"
	"github.com/trailgate/trailgate/workflows"
)

// BenchmarkReplay measures how fast a worker replays each recorded history,
// which bounds how quickly a restarted worker resumes running changes.
func BenchmarkReplay(b *testing.B) {
	files, _ := recordedHistories()
	for _, f := range files {
		b.Run(filepath.Base(f), func(b *testing.B) {
			r := newReplayer()
			b.ReportAllocs()
			for b.Loop() {
				if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkChangeWorkflow runs a change over many organizations in one wave
// with the workflow test suite (activities answered in memory), measuring the
// workflow code's own cost per change.
func BenchmarkChangeWorkflow(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("organizations=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				runChangeOver(b, n)
			}
		})
	}
}

func runChangeOver(b *testing.B, n int) {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(nopLogger{})
	env := s.NewTestWorkflowEnvironment()
	workflows.Register(env)
	env.RegisterActivity(acts)
	env.OnActivity(acts.Preflight, mock.Anything, mock.Anything).Return(activities.Identity{AccountID: "111111111111", ManagementAccountID: "111111111111", FeatureSet: "ALL"}, nil)
	env.OnActivity(acts.ReadState, mock.Anything, mock.Anything).Return(workflows.State{ServiceLinkedRole: true}, nil)
	env.OnActivity(acts.EnableTrustedAccess, mock.Anything, mock.Anything).Return(activities.Mutation{}, nil)
	env.OnActivity(acts.VerifyEnabled, mock.Anything, mock.Anything).Return(workflows.Evidence{TrustedAccess: true, ServiceLinkedRole: true}, nil)
	env.OnActivity(acts.ResolveChange, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ResolveInput) (activities.Resolution, error) {
		res := activities.Resolution{Policy: workflows.GatePolicy{RequiredApprovals: 1, AllowClaims: true, Timeout: time.Hour}}
		for _, name := range in.Organizations {
			res.Organizations = append(res.Organizations, activities.OrgInput{Organization: name})
		}
		return res, nil
	})
	in := workflows.ChangeInput{ChangeID: "bench", Action: workflows.ActionEnable, Concurrency: 10, Requester: as("dave")}
	for i := range n {
		in.Organizations = append(in.Organizations, fmt.Sprintf("org-%04d", i))
	}
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(workflows.UpdateApprove, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { b.Error(err) }, OnComplete: func(any, error) {},
		}, workflows.Decision{Who: as("alice")})
	}, time.Minute)
	env.ExecuteWorkflow(workflows.ChangeWorkflowName, in)
	var p workflows.ChangeProgress
	if err := env.GetWorkflowResult(&p); err != nil || p.Phase != workflows.PhaseSucceeded {
		b.Fatalf("change ended %s: %v", p.Phase, err)
	}
}

type nopLogger struct{}

func (nopLogger) Debug(string, ...any) {}
func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}
