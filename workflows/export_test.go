package workflows

import "time"

// SetHistoryBudget lets tests make a change continue as new after every
// wave; it returns a function that restores the budget.
func SetHistoryBudget(n int) (restore func()) {
	old := historyBudget
	historyBudget = n
	return func() { historyBudget = old }
}

// PrincipalMatches exposes the principal patterns' matching to tests.
var PrincipalMatches = principalMatches

// SetRetryBudget lets tests give up on AWS calls sooner; it returns a
// function that restores the budget.
func SetRetryBudget(d time.Duration) (restore func()) {
	old := retryBudget
	retryBudget = d
	return func() { retryBudget = old }
}

// VersionFewerCalls is the version since which organizations' workflows
// make their AWS calls in few activities.
const VersionFewerCalls = versionFewerCalls
