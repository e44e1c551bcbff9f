package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a time.Duration that encodes to JSON as a Go duration string
// ("250ms") and decodes only from one. It exists for the wire form of
// policies; the policy structs themselves use time.Duration.
type Duration time.Duration

// MarshalJSON encodes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON decodes a duration string such as "250ms" or "1m30s".
// Integers are rejected: nanosecond counts are too easy to get wrong.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string such as \"250ms\", got %s", truncate(b))
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q", s)
	}
	*d = Duration(v)
	return nil
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

type retryJSON struct {
	MaxAttempts       int        `json:"max_attempts,omitempty"`
	InitialBackoff    Duration   `json:"initial_backoff,omitempty"`
	MaxBackoff        Duration   `json:"max_backoff,omitempty"`
	BackoffMultiplier float64    `json:"backoff_multiplier,omitempty"`
	Jitter            JitterKind `json:"jitter,omitempty"`
	TimeoutPerAttempt Duration   `json:"timeout_per_attempt,omitempty"`
	OverallTimeout    Duration   `json:"overall_timeout,omitempty"`
	ClassifierName    string     `json:"classifier,omitempty"`
	Budget            *BudgetRef `json:"budget,omitempty"`
}

type hedgeJSON struct {
	Enabled              bool         `json:"enabled,omitempty"`
	MaxHedges            int          `json:"max_hedges,omitempty"`
	Trigger              HedgeTrigger `json:"trigger,omitempty"`
	Delay                Duration     `json:"delay,omitempty"`
	Budget               *BudgetRef   `json:"budget,omitempty"`
	CancelOnNonRetryable bool         `json:"cancel_on_non_retryable,omitempty"`
}

type circuitJSON struct {
	Enabled          bool     `json:"enabled,omitempty"`
	FailureThreshold int      `json:"failure_threshold,omitempty"`
	Cooldown         Duration `json:"cooldown,omitempty"`
}

type policyJSON struct {
	Key     *PolicyKey     `json:"key,omitempty"`
	ID      string         `json:"id,omitempty"`
	Retry   *RetryPolicy   `json:"retry,omitempty"`
	Hedge   *HedgePolicy   `json:"hedge,omitempty"`
	Circuit *CircuitPolicy `json:"circuit,omitempty"`
	Meta    *Metadata      `json:"meta,omitempty"`
}

func budgetPtr(b BudgetRef) *BudgetRef {
	if b == (BudgetRef{}) {
		return nil
	}
	return &b
}

func derefBudget(b *BudgetRef) BudgetRef {
	if b == nil {
		return BudgetRef{}
	}
	return *b
}

// strictDecode decodes b into v, rejecting unknown fields and trailing data.
func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after the object")
	}
	return nil
}

// MarshalJSON encodes the policy with snake_case names and duration strings.
func (r RetryPolicy) MarshalJSON() ([]byte, error) {
	return json.Marshal(retryJSON{
		MaxAttempts: r.MaxAttempts, InitialBackoff: Duration(r.InitialBackoff),
		MaxBackoff: Duration(r.MaxBackoff), BackoffMultiplier: r.BackoffMultiplier,
		Jitter: r.Jitter, TimeoutPerAttempt: Duration(r.TimeoutPerAttempt),
		OverallTimeout: Duration(r.OverallTimeout), ClassifierName: r.ClassifierName,
		Budget: budgetPtr(r.Budget),
	})
}

// UnmarshalJSON decodes the form MarshalJSON writes. Unknown fields are an
// error.
func (r *RetryPolicy) UnmarshalJSON(b []byte) error {
	var j retryJSON
	if err := strictDecode(b, &j); err != nil {
		return err
	}
	*r = RetryPolicy{
		MaxAttempts: j.MaxAttempts, InitialBackoff: time.Duration(j.InitialBackoff),
		MaxBackoff: time.Duration(j.MaxBackoff), BackoffMultiplier: j.BackoffMultiplier,
		Jitter: j.Jitter, TimeoutPerAttempt: time.Duration(j.TimeoutPerAttempt),
		OverallTimeout: time.Duration(j.OverallTimeout), ClassifierName: j.ClassifierName,
		Budget: derefBudget(j.Budget),
	}
	return nil
}

// MarshalJSON encodes the policy with snake_case names and duration strings.
func (h HedgePolicy) MarshalJSON() ([]byte, error) {
	return json.Marshal(hedgeJSON{
		Enabled: h.Enabled, MaxHedges: h.MaxHedges, Trigger: h.Trigger,
		Delay: Duration(h.Delay), Budget: budgetPtr(h.Budget),
		CancelOnNonRetryable: h.CancelOnNonRetryable,
	})
}

// UnmarshalJSON decodes the form MarshalJSON writes. Unknown fields are an
// error.
func (h *HedgePolicy) UnmarshalJSON(b []byte) error {
	var j hedgeJSON
	if err := strictDecode(b, &j); err != nil {
		return err
	}
	*h = HedgePolicy{
		Enabled: j.Enabled, MaxHedges: j.MaxHedges, Trigger: j.Trigger,
		Delay: time.Duration(j.Delay), Budget: derefBudget(j.Budget),
		CancelOnNonRetryable: j.CancelOnNonRetryable,
	}
	return nil
}

// MarshalJSON encodes the policy with snake_case names and duration strings.
func (c CircuitPolicy) MarshalJSON() ([]byte, error) {
	return json.Marshal(circuitJSON{Enabled: c.Enabled, FailureThreshold: c.FailureThreshold, Cooldown: Duration(c.Cooldown)})
}

// UnmarshalJSON decodes the form MarshalJSON writes. Unknown fields are an
// error.
func (c *CircuitPolicy) UnmarshalJSON(b []byte) error {
	var j circuitJSON
	if err := strictDecode(b, &j); err != nil {
		return err
	}
	*c = CircuitPolicy{Enabled: j.Enabled, FailureThreshold: j.FailureThreshold, Cooldown: time.Duration(j.Cooldown)}
	return nil
}

// MarshalJSON encodes the policy; empty sections are left out.
func (p EffectivePolicy) MarshalJSON() ([]byte, error) {
	j := policyJSON{ID: p.ID}
	if !p.Key.IsZero() {
		j.Key = &p.Key
	}
	if p.Retry != (RetryPolicy{}) {
		j.Retry = &p.Retry
	}
	if p.Hedge != (HedgePolicy{}) {
		j.Hedge = &p.Hedge
	}
	if p.Circuit != (CircuitPolicy{}) {
		j.Circuit = &p.Circuit
	}
	if p.Meta.Source != "" || p.Meta.Version != "" || p.Meta.Normalized || len(p.Meta.ClampedFields) > 0 {
		j.Meta = &p.Meta
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes the form MarshalJSON writes. Unknown fields are an
// error.
func (p *EffectivePolicy) UnmarshalJSON(b []byte) error {
	var j policyJSON
	if err := strictDecode(b, &j); err != nil {
		return err
	}
	out := EffectivePolicy{ID: j.ID}
	if j.Key != nil {
		out.Key = *j.Key
	}
	if j.Retry != nil {
		out.Retry = *j.Retry
	}
	if j.Hedge != nil {
		out.Hedge = *j.Hedge
	}
	if j.Circuit != nil {
		out.Circuit = *j.Circuit
	}
	if j.Meta != nil {
		out.Meta = *j.Meta
	}
	*p = out
	return nil
}
