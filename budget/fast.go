package budget

import (
	"time"

	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/internal/fastgate"
)

// The executor asks a budget about a call's first attempt through
// internal/fastgate, without the gate.Attempt whose copy costs more than
// the token bucket's answer (it counts nothing) or the ratio budget's
// count.
func init() {
	fastgate.BudgetOf = func(g gate.Gate) fastgate.Budget {
		if bg, ok := g.(*budgetGate); ok && bg != nil && bg.first != firstNone {
			return bg
		}
		return nil
	}
}

// How a budget gate admits first attempts on the fast path.
const (
	firstNone  = iota // it has no fast path: Admit decides
	firstFree         // a token bucket: allowed, nothing counted
	firstRatio        // a ratio budget: allowed and counted
)

// firstKind is how the gate of b admits first attempts on the fast path.
// Only budgets whose first attempts carry no Release and that record no
// outcomes have one: their permits need no completion.
func firstKind(b Budget) int {
	switch b.(type) {
	case *TokenBucketBudget:
		return firstFree
	case *RatioBudget:
		return firstRatio
	}
	return firstNone
}

// Free reports the token bucket's first attempts: free, and not counted.
func (g *budgetGate) Free() (string, bool) {
	if g.first == firstFree {
		return ReasonFirstAttempt, true
	}
	return "", false
}

// AdmitFirst is Admit for a first attempt (see fastgate.Budget): the same
// Decision the budget's AllowAttemptAt makes for it.
func (g *budgetGate) AdmitFirst(now time.Time) (string, bool) {
	switch g.first {
	case firstFree:
		return ReasonFirstAttempt, true
	case firstRatio:
		if bk := g.ratio.w.bucketAt(now); bk != nil {
			bk.a.Add(1) // as RatioBudget.request
		}
		return ReasonFirstAttempt, true
	}
	return "", false
}
