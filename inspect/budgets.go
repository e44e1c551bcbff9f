package inspect

import (
	"fmt"
	"time"

	"github.com/aponysus/rego/budget"
)

// budgetLevel reads the level of the budget kinds this module defines,
// through their exported *At methods.
func budgetLevel(now time.Time, b budget.Budget) (typ, level string) {
	switch b := b.(type) {
	case *budget.TokenBucketBudget:
		return "token_bucket", fmt.Sprintf("%d tokens", b.TokensAt(now))
	case *budget.RatioBudget:
		req, retries := b.StatsAt(now)
		return "ratio", fmt.Sprintf("%d of %d retries used (%d requests in the window)", retries, b.LimitAt(now), req)
	case *budget.Throttle:
		req, acc := b.StatsAt(now)
		return "throttle", fmt.Sprintf("rejection probability %.3f (%d requests, %d accepted)", b.ProbabilityAt(now), req, acc)
	case budget.UnlimitedBudget, *budget.UnlimitedBudget:
		return "unlimited", "unlimited"
	}
	return "other", fmt.Sprintf("%T exports no level", b)
}
