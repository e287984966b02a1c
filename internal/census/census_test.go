package census_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/trailgate/trailgate/internal/census"
	"github.com/trailgate/trailgate/internal/testenv"
	"github.com/trailgate/trailgate/workflows"
)

// The census finds every organization of a change that waits at its
// approval gate there, and none in any other phase; once the change is
// cancelled, none at all.
func TestTheCensusCountsOrganizationsWhereTheyStand(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Instant: true})
	ctx := context.Background()
	orgs := []string{"acme-prod", "acme-staging", "globex"}
	in := env.Request(t, "dave", workflows.ChangeInput{ChangeID: "census", Action: workflows.ActionEnable, Organizations: orgs, Reason: "census"})
	run, err := env.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: in.ChangeID, TaskQueue: env.Config.Temporal.TaskQueue}, workflows.ChangeWorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}

	want := func(phase workflows.Phase, n int64) map[workflows.Phase]int64 {
		out := map[workflows.Phase]int64{}
		for _, p := range census.Phases {
			out[p] = 0
		}
		if phase != "" {
			out[phase] = n
		}
		return out
	}
	await(t, env, want(workflows.PhaseAwaitingApproval, int64(len(orgs))))

	if err := env.Client.CancelWorkflow(ctx, run.GetID(), ""); err != nil {
		t.Fatal(err)
	}
	await(t, env, want("", 0))
}

// await takes the census until it says want, for up to a minute: the
// visibility store learns of a phase shortly after the workflow sets it.
func await(t *testing.T, env *testenv.Env, want map[workflows.Phase]int64) {
	t.Helper()
	var got map[workflows.Phase]int64
	var err error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got, err = census.Count(context.Background(), env.Client); err == nil && equal(got, want) {
			return
		}
	}
	t.Fatalf("the census says %v (error %v), want %v", got, err, want)
}

func equal(a, b map[workflows.Phase]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
