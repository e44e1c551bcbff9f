package observe

// Breaker states as metrics export them: ordered by severity, so that a
// dashboard can alert on the maximum.
const (
	BreakerClosedValue   = 0
	BreakerHalfOpenValue = 1
	BreakerOpenValue     = 2
)

// BreakerStateValue maps the state names of EventBreakerState ("closed",
// "half_open", "open") to the values metrics export for them; false for
// any other name.
func BreakerStateValue(state string) (int, bool) {
	switch state {
	case "closed":
		return BreakerClosedValue, true
	case "half_open":
		return BreakerHalfOpenValue, true
	case "open":
		return BreakerOpenValue, true
	}
	return 0, false
}
