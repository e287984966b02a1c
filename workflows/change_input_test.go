package workflows_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailgate/trailgate/workflows"
)

// Validate says every problem of a change input at once, each with the
// field it is about, so that the CLI can say it in the words of its flags;
// its message is the problems' texts joined, the one the workflow fails
// with.
func TestValidateNamesTheFieldOfEachProblem(t *testing.T) {
	in := workflows.ChangeInput{
		ChangeID:      "bad id",
		Action:        "destroy",
		Organizations: []string{"globex", "", "globex"},
		Waves:         []string{"rest", "1"},
		Concurrency:   -1,
		FailureBudget: -1,
		Windows:       []workflows.MaintenanceWindow{{Start: "25:00", Duration: 1}},
		Reason:        "\x1b[2J",
	}
	err := in.Validate()
	var invalid *workflows.InvalidInputError
	if !errors.As(err, &invalid) {
		t.Fatalf("Validate: %v (%T); want an *InvalidInputError", err, err)
	}
	want := []workflows.Problem{
		{Field: workflows.FieldChangeID, Text: `change ID "bad id" is not valid: use 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit`},
		{Field: workflows.FieldAction, Text: `unknown action "destroy": use enable, disable or rollback`},
		{Field: workflows.FieldOrganizations, Kind: workflows.ProblemEmpty, Text: "an organization name is empty"},
		{Field: workflows.FieldOrganizations, Kind: workflows.ProblemRepeated, Value: "globex", Text: "organization globex is named twice"},
		{Field: workflows.FieldWaves, Text: `wave "rest" must be the last wave`},
		{Field: workflows.FieldConcurrency, Text: "concurrency must be 0 (all at once) or more"},
		{Field: workflows.FieldFailureBudget, Text: "the failure budget must be 0 or more"},
		{Field: workflows.FieldWindows, Text: `maintenance window start "25:00": write HH:MM in UTC`},
		{Field: workflows.FieldReason, Text: "the reason holds control characters; write plain text"},
	}
	if invalid.What != "change" || !slices.Equal(invalid.Problems, want) {
		t.Errorf("Validate's problems:\n  %q: %+v\nwant\n  %q: %+v", invalid.What, invalid.Problems, "change", want)
	}
	texts := make([]string, 0, len(want))
	for _, p := range want {
		texts = append(texts, p.Text)
	}
	if got, want := err.Error(), "invalid change: "+strings.Join(texts, "; "); got != want {
		t.Errorf("Validate says\n  %s\nwant\n  %s", got, want)
	}

	none := workflows.ChangeInput{ChangeID: "c", Action: workflows.ActionEnable}
	if err := none.Validate(); !errors.As(err, &invalid) || !slices.Equal(invalid.Problems, []workflows.Problem{
		{Field: workflows.FieldOrganizations, Kind: workflows.ProblemMissing, Text: "no organizations: name some with --org, or use --all"},
	}) {
		t.Errorf("a change of no organizations: %v; want its one problem missing organizations", err)
	}
	if err := one(workflows.ActionEnable).Validate(); err != nil {
		t.Errorf("a valid change: %v (%T); want a nil error", err, err)
	}
}

// A wave's share runs from 1% to 100%: 100% is every organization at once,
// 0% and more than 100% are refused.
func TestWaveSharesRunFromOneToAHundredPercent(t *testing.T) {
	if sizes, err := workflows.PlanWaves([]string{"100%"}, 3); err != nil || len(sizes) != 1 || sizes[0] != 3 {
		t.Errorf("a wave of 100%% of 3 organizations: %v, %v; want one wave of 3", sizes, err)
	}
	for _, share := range []string{"0%", "101%"} {
		if _, err := workflows.PlanWaves([]string{share}, 3); err == nil || !strings.Contains(err.Error(), "a share is 1% to 100%") {
			t.Errorf("a wave of %s: %v; want it refused with the range", share, err)
		}
	}
}

// A reason may be up to 2000 characters long; a longer one is refused with
// the limit.
func TestReasonMayReachItsLimit(t *testing.T) {
	in := one(workflows.ActionEnable)
	in.Reason = strings.Repeat("r", 2000)
	if err := in.Validate(); err != nil {
		t.Errorf("a reason of 2000 characters is refused: %v", err)
	}
	in.Reason += "r"
	if err := in.Validate(); err == nil || !strings.Contains(err.Error(), "the reason is 2001 characters long; keep it under 2000") {
		t.Errorf("a reason of 2001 characters: %v; want it refused with the limit", err)
	}
}

// A maintenance window lasts more than nothing and at most a day.
func TestWindowsLastUpToADay(t *testing.T) {
	if _, err := workflows.ParseWindow("02:00+24h"); err != nil {
		t.Errorf("a window of a whole day is refused: %v", err)
	}
	for _, bad := range []string{"02:00+0s", "02:00+25h"} {
		if _, err := workflows.ParseWindow(bad); err == nil || !strings.Contains(err.Error(), "the duration must be between 1m and 24h") {
			t.Errorf("window %q: %v; want it refused with the range", bad, err)
		}
	}
}

// A window opens at its hour and minute, in UTC: a change outside it waits
// for that very minute; inside it, it goes at once.
func TestWindowOpensAtItsMinute(t *testing.T) {
	w, err := workflows.ParseWindow("02:30+1h")
	if err != nil {
		t.Fatal(err)
	}
	windows := []workflows.MaintenanceWindow{w}
	morning := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	if got, want := workflows.NextOpen(windows, morning), time.Date(2026, 11, 26, 2, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("at %s the window next opens %s; want %s", morning, got, want)
	}
	inside := time.Date(2026, 11, 26, 3, 15, 0, 0, time.UTC)
	if got := workflows.NextOpen(windows, inside); !got.Equal(inside) {
		t.Errorf("at %s, inside the window, mutations wait until %s", inside, got)
	}
}

// A wave holds at most MaxWaveOrganizations organizations, so that the
// change's history stays within Temporal's limit; the refusal says how to
// split the change.
func TestAWaveHoldsAtMostMaxWaveOrganizations(t *testing.T) {
	in := one(workflows.ActionEnable)
	in.Organizations = nil
	for i := range 10000 {
		in.Organizations = append(in.Organizations, fmt.Sprintf("org-%05d", i))
	}
	err := in.Validate()
	want := "a wave of 10000 organizations is more than 2000, the most one wave holds; split the change into waves, for example --waves 2000,2000,2000,2000,rest"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("one wave of 10,000: %v; want %q", err, want)
	}
	in.Waves = []string{"2000", "2000", "2000", "2000", "rest"}
	if err := in.Validate(); err != nil {
		t.Errorf("the split it suggests is refused: %v", err)
	}
	in.Waves = []string{"2000", "2001"}
	if err := in.Validate(); err == nil || !strings.Contains(err.Error(), "a wave of 5999 organizations") {
		t.Errorf("a last wave of 5,999 left over: %v; want it refused", err)
	}
}
