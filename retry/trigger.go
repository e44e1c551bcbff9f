package retry

import (
	"time"

	"github.com/aponysus/rego/hedge"
	"github.com/aponysus/rego/policy"
)

func hedgeInput(key policy.PolicyKey, p *policy.EffectivePolicy, idx int, tr *hedge.Tracker) hedge.TriggerInput {
	return hedge.TriggerInput{Key: key, Policy: p.Hedge, HedgeIndex: idx, Latency: tr}
}

// fixedTrigger stands in for a trigger name the registry lacks.
type fixedTrigger struct{}

func (fixedTrigger) Delay(in hedge.TriggerInput) (time.Duration, string, bool) {
	return in.Policy.Delay, "fixed", true
}
