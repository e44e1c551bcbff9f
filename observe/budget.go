package observe

import (
	"time"

	"github.com/aponysus/rego/budget"
)

// BudgetLevel is the state of a budget at one instant, for pages and
// gauges.
type BudgetLevel struct {
	// Type is the budget's kind: "token_bucket", "ratio", "throttle" or
	// "unlimited".
	Type string
	// Available is how many more attempt units the budget allows now:
	// the tokens left (token bucket) or the retry units left in the
	// window (ratio). Zero for a throttle, which admits by probability.
	Available float64
	// RejectProbability is a throttle's probability of refusing an
	// attempt now; zero for the other kinds.
	RejectProbability float64
	// Requests and Used are the window's counts: first attempts and
	// retry units taken (ratio), or requests and accepted ones (throttle);
	// zero for a token bucket.
	Requests, Used int64
}

// BudgetLevelOf reads the level of the budget kinds of package budget
// through their exported *At methods; false for other implementations,
// which export no level. now must be on the budget's clock.
func BudgetLevelOf(b budget.Budget, now time.Time) (BudgetLevel, bool) {
	switch b := b.(type) {
	case *budget.TokenBucketBudget:
		return BudgetLevel{Type: "token_bucket", Available: float64(b.TokensAt(now))}, true
	case *budget.RatioBudget:
		req, used := b.StatsAt(now)
		left := b.LimitAt(now) - used
		if left < 0 {
			left = 0
		}
		return BudgetLevel{Type: "ratio", Available: float64(left), Requests: req, Used: used}, true
	case *budget.Throttle:
		req, acc := b.StatsAt(now)
		return BudgetLevel{Type: "throttle", RejectProbability: b.ProbabilityAt(now), Requests: req, Used: acc}, true
	case budget.UnlimitedBudget, *budget.UnlimitedBudget:
		return BudgetLevel{Type: "unlimited"}, true
	}
	return BudgetLevel{}, false
}

// NamedBudgetLevel is the level of a budget of a registry.
type NamedBudgetLevel struct {
	Name string
	BudgetLevel
}

// BudgetLevels returns, in the order of names, the levels of the named
// budgets that reg holds and that export a level (BudgetLevelOf); the
// others are left out. now must be on the budgets' clock.
func BudgetLevels(reg *budget.Registry, names []string, now time.Time) []NamedBudgetLevel {
	var out []NamedBudgetLevel
	for _, n := range names {
		b, ok := reg.Get(n)
		if !ok {
			continue
		}
		if l, ok := BudgetLevelOf(b, now); ok {
			out = append(out, NamedBudgetLevel{Name: n, BudgetLevel: l})
		}
	}
	return out
}
