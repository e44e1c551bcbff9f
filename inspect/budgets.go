package inspect

import (
	"fmt"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/observe"
)

// budgetLevel describes a budget's level in words.
func budgetLevel(now time.Time, b budget.Budget) (typ, level string) {
	l, ok := observe.BudgetLevelOf(b, now)
	if !ok {
		return "other", fmt.Sprintf("%T exports no level", b)
	}
	switch l.Type {
	case "token_bucket":
		return l.Type, fmt.Sprintf("%.0f tokens", l.Available)
	case "ratio":
		return l.Type, fmt.Sprintf("%d retries used, %.0f left (%d requests in the window)", l.Used, l.Available, l.Requests)
	case "throttle":
		return l.Type, fmt.Sprintf("rejection probability %.3f (%d requests, %d accepted)", l.RejectProbability, l.Requests, l.Used)
	}
	return l.Type, l.Type
}
