package workflows

// SetHistoryBudget lets tests make a change continue as new after every
// wave; it returns a function that restores the budget.
func SetHistoryBudget(n int) (restore func()) {
	old := historyBudget
	historyBudget = n
	return func() { historyBudget = old }
}

// PrincipalMatches exposes the principal patterns' matching to tests.
var PrincipalMatches = principalMatches
