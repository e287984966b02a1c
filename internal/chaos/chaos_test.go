package chaos_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trailgate/trailgate/internal/chaos"
	"github.com/trailgate/trailgate/workflows"
)

// TestChaos SIGKILLs the dev default during rollouts and checks that every
// change still succeeds, AWS shows it, and no decision is lost.
//
// By default it is short: three organizations, two rounds, each killed
// where no activity runs, so that no kill waits out an activity timeout:
// an enable between its two approvals, and a disable while it awaits the
// CloudTrail administrator, who confirms cleanup after the restart.
//
// CHAOS_ROUNDS=N plays N drawn rounds instead (make chaos): kills while
// organizations apply and verify, CHAOS_ORGS organizations (20 unless set),
// AWS slowed by CHAOS_LATENCY (200ms unless set), kills drawn from
// CHAOS_SEED (the time unless set). CHAOS_DATA_DIR keeps the data directory.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the dev default as a separate process and kills it")
	}
	rounds := envInt(t, "CHAOS_ROUNDS", 0)
	opts := chaos.Options{
		Worker:        workerBinary(t),
		DataDir:       os.Getenv("CHAOS_DATA_DIR"),
		Organizations: envInt(t, "CHAOS_ORGS", 3),
		Seed:          uint64(envInt(t, "CHAOS_SEED", int(time.Now().UnixNano()%1e9))),
		Log:           testLog{t},
	}
	if rounds > 0 {
		opts.Organizations = envInt(t, "CHAOS_ORGS", 20)
		latency, err := time.ParseDuration(envString("CHAOS_LATENCY", "200ms"))
		if err != nil {
			t.Fatalf("CHAOS_LATENCY: %v", err)
		}
		opts.Latency = latency
	}
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	t.Logf("CHAOS_SEED=%d, %d organizations, AWS latency %s, data in %s", opts.Seed, opts.Organizations, opts.Latency, opts.DataDir)

	h, err := chaos.Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("stop the dev default: %v", err)
		}
	})
	t.Logf("layout: %s", h.Layout())

	plan := []chaos.Round{
		{Number: 1, Action: workflows.ActionEnable, Kills: []chaos.Kill{{Wave: 1, At: chaos.AtApprovalGate, Scope: chaos.KillAll}}},
		{Number: 2, Action: workflows.ActionDisable, Kills: []chaos.Kill{{Wave: 1, At: chaos.AtCleanupGate, Scope: chaos.KillAll}}},
	}
	if rounds > 0 {
		plan = plan[:0]
		for n := 1; n <= rounds; n++ {
			plan = append(plan, h.Draw(n))
		}
	}

	var results []chaos.Result
	for _, r := range plan {
		res := h.Run(t.Context(), r)
		results = append(results, res)
		if !res.OK() {
			break // the next round starts from what this one should have left
		}
	}
	var figures strings.Builder
	if err := chaos.WriteFigures(&figures, results); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("\n" + figures.String())

	for _, res := range results {
		for _, p := range res.Problems {
			t.Errorf("round %d (%s, change %s): %s", res.Round.Number, res.Round.Action, res.ChangeID, p)
		}
		if len(res.Landed) == 0 {
			t.Errorf("round %d (%s): no kill landed: %v never came", res.Round.Number, res.Round.Action, res.Missed)
		}
	}
	if len(results) < len(plan) || t.Failed() {
		t.Log(h.Tail())
	}
}

// workerBinary builds bin/trailgate-worker, as make build does, and skips
// the test when it cannot be built.
func workerBinary(t *testing.T) string {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(gomod)) == "" {
		t.Skipf("cannot find the module to build bin/trailgate-worker: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	bin := filepath.Join(root, "bin", "trailgate-worker")
	build := exec.Command("go", "build", "-o", bin, "./worker")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("cannot build bin/trailgate-worker: %v\n%s", err, out)
	}
	return bin
}

func envString(name, fallback string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return fallback
}

func envInt(t *testing.T, name string, fallback int) int {
	v := envString(name, "")
	if v == "" {
		return fallback
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a whole number, 0 or more", name, v)
	}
	return n
}

// testLog writes the harness's lines to the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
