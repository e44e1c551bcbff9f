package regootel

import (
	"github.com/aponysus/rego/observe"
	"go.opentelemetry.io/otel/attribute"
)

// Attribute keys. All of them are low-cardinality on metrics: the policy
// key, outcome kinds and the fixed reason strings the executor records.
const (
	AttrKey            = attribute.Key("rego.key")
	AttrResult         = attribute.Key("rego.result")      // "success" or "failure"
	AttrStopReason     = attribute.Key("rego.stop_reason") // the timeline's stop_reason, failures only
	AttrOutcome        = attribute.Key("rego.outcome")     // see outcomeName
	AttrOutcomeReason  = attribute.Key("rego.outcome.reason")
	AttrAdmission      = attribute.Key("rego.admission") // "allowed", "budget_denied" or "circuit_denied"
	AttrHedge          = attribute.Key("rego.attempt.hedge")
	AttrHedgeEvent     = attribute.Key("rego.hedge.event") // "spawned" or "cancelled"
	AttrReason         = attribute.Key("rego.reason")
	AttrAttempt        = attribute.Key("rego.attempt")
	AttrRetryIndex     = attribute.Key("rego.attempt.retry_index")
	AttrHedgeIndex     = attribute.Key("rego.attempt.hedge_index")
	AttrHedgeReason    = attribute.Key("rego.attempt.hedge_reason")
	AttrBackoffMS      = attribute.Key("rego.attempt.backoff_ms")
	AttrDurationMS     = attribute.Key("rego.attempt.duration_ms")
	AttrCancelled      = attribute.Key("rego.attempt.cancelled")
	AttrBudgetAllowed  = attribute.Key("rego.budget.allowed")
	AttrBudgetReason   = attribute.Key("rego.budget.reason")
	AttrCircuit        = attribute.Key("rego.circuit.decision")
	AttrAttemptError   = attribute.Key("rego.attempt.error")
	AttrAttempts       = attribute.Key("rego.attempts")
	AttrPolicyID       = attribute.Key("rego.policy_id")
	timelineAttrPrefix = "rego."
)

// Admission values.
const (
	AdmissionAllowed       = "allowed"
	AdmissionBudgetDenied  = "budget_denied"
	AdmissionCircuitDenied = "circuit_denied"
)

// Outcome values beyond the classifier's kinds.
const (
	// OutcomeDenied marks an attempt a budget or breaker refused: it did
	// not run.
	OutcomeDenied = "denied"
	// OutcomeCancelled marks an attempt the executor cancelled (a losing
	// hedge, or one in flight when the call ended).
	OutcomeCancelled = "cancelled"
)

// admission says whether rec ran, and if not, which gate refused it. The
// executor records a breaker's refusal as a budget denial whose reason
// starts with "circuit_".
func admission(rec observe.AttemptRecord) string {
	switch {
	case rec.BudgetAllowed:
		return AdmissionAllowed
	case rec.RefusedBy() == "circuit":
		return AdmissionCircuitDenied
	default:
		return AdmissionBudgetDenied
	}
}

// outcomeName is the classifier's kind ("success", "retryable", ...), or
// "denied" / "cancelled" for attempts that did not run or did not finish:
// their recorded kind says nothing about the operation.
func outcomeName(rec observe.AttemptRecord) string {
	switch {
	case !rec.BudgetAllowed:
		return OutcomeDenied
	case rec.Cancelled:
		return OutcomeCancelled
	default:
		return rec.Outcome.Kind.String()
	}
}
