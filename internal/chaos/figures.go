package chaos

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trailgate/trailgate/workflows"
)

// phaseCounts says how many organizations stand in each phase, busiest
// first: "18 pending, 2 applying".
func phaseCounts(counts map[workflows.Phase]int) string {
	phases := make([]workflows.Phase, 0, len(counts))
	for p := range counts {
		phases = append(phases, p)
	}
	slices.SortFunc(phases, func(a, b workflows.Phase) int {
		if counts[a] != counts[b] {
			return counts[b] - counts[a]
		}
		return strings.Compare(string(a), string(b))
	})
	parts := make([]string, len(phases))
	for i, p := range phases {
		parts[i] = fmt.Sprintf("%d %s", counts[p], p)
	}
	return strings.Join(parts, ", ")
}

// WriteFigures writes a table of the rounds, a line a round, and what they
// add up to: kills by moment and scope, outcomes, time per round.
func WriteFigures(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\taction\torgs\tkills\toutcome\tsucceeded\tin AWS\tdecisions kept\trepeated attempts\ttook\t")
	byMoment, byScope := map[Moment]int{}, map[Scope]int{}
	// What organizations were doing when each kill landed: a delay can
	// carry a kill past the moment it waited for.
	var amidMutations, amidVerifications, amidNeither int
	outcomes := map[string]int{}
	var kills, missed int
	var total, longest time.Duration
	for _, r := range results {
		outcome := string(r.Phase)
		if !r.OK() {
			outcome = "PROBLEM"
		}
		outcomes[outcome]++
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\t%d/%d\t%d/%d\t%d/%d\t%d\t%s\t\n",
			r.Round.Number, r.Round.Action, r.Organizations, len(r.Landed), outcome,
			r.Succeeded, r.Organizations, r.InAWS, r.Organizations, r.Kept, r.Decisions,
			r.Repeated, r.Took.Round(time.Second))
		kills += len(r.Landed)
		missed += len(r.Missed)
		for _, l := range r.Landed {
			byMoment[l.At]++
			byScope[l.Scope]++
			if l.Phases[workflows.PhaseApplying] > 0 {
				amidMutations++
			}
			if l.Phases[workflows.PhaseVerifying] > 0 {
				amidVerifications++
			}
			if l.Phases[workflows.PhaseApplying]+l.Phases[workflows.PhaseVerifying] == 0 {
				amidNeither++
			}
		}
		total += r.Took
		longest = max(longest, r.Took)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "\nwhere each kill landed (what it took down; the organizations just before; until Temporal and AWS answered again):")
	for _, r := range results {
		for _, l := range r.Landed {
			fmt.Fprintf(w, "  round %d: %s; %s; back in %s\n", r.Round.Number, l.Kill, phaseCounts(l.Phases), l.Down.Round(10*time.Millisecond))
		}
		for _, k := range r.Missed {
			fmt.Fprintf(w, "  round %d: %s never came\n", r.Round.Number, k)
		}
		if r.AfterErrors > 0 {
			fmt.Fprintf(w, "  round %d: %d of %d repeated attempt(s) followed an error, not a timeout; the first: %s\n", r.Round.Number, r.AfterErrors, r.Repeated, r.Errors[0])
		}
		for _, p := range r.Problems {
			fmt.Fprintf(w, "  round %d: PROBLEM: %s\n", r.Round.Number, p)
		}
	}

	fmt.Fprintf(w, "\n%d round(s), %d kill(s)", len(results), kills)
	if missed > 0 {
		fmt.Fprintf(w, " (%d planned kill(s) never came)", missed)
	}
	fmt.Fprintf(w, "\n  by planned moment: %s\n  as they landed: %d with organizations applying, %d with organizations verifying, %d with neither\n  by scope: %s\n  outcomes: %s\n",
		tally(moments, byMoment), amidMutations, amidVerifications, amidNeither,
		tally([]Scope{KillAll, KillDevDefault, KillWorker}, byScope), tally(sortedKeys(outcomes), outcomes))
	if len(results) > 0 {
		fmt.Fprintf(w, "  time per round: mean %s, longest %s\n", (total / time.Duration(len(results))).Round(time.Second), longest.Round(time.Second))
	}
	return nil
}

func tally[K ~string](order []K, counts map[K]int) string {
	var parts []string
	for _, k := range order {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
