package inspect

import (
	"context"
	"sort"
	"time"

	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

// Snapshot is everything the page shows, as served in JSON.
type Snapshot struct {
	// Time is when the snapshot was taken (Options.Clock).
	Time time.Time `json:"time"`
	// PolicyVersion is the provider's document version, when it has one.
	PolicyVersion string `json:"policy_version,omitempty"`
	// ProviderError is the provider's last load error, when it reports
	// one (FileProvider and RemoteProvider do, through LastError).
	ProviderError string            `json:"provider_error,omitempty"`
	Keys          []KeySnapshot     `json:"keys"`
	Budgets       []BudgetLevel     `json:"budgets,omitempty"`
	Events        []EventRecord     `json:"events,omitempty"`
	EventCounts   map[string]uint64 `json:"event_counts,omitempty"`
	Overflow      Overflow          `json:"overflow"`
}

// KeySnapshot is one key's part of the page.
type KeySnapshot struct {
	Key string `json:"key"`
	// Policy is the policy in force: the provider's answer now when
	// Options.Provider is set, else the policy of the key's last call.
	Policy *PolicyInForce `json:"policy,omitempty"`
	// Breaker is the key's breaker state, nil when nothing is known.
	Breaker *BreakerState `json:"breaker,omitempty"`
	// BudgetNames are the budgets the key's policy names.
	BudgetNames []string `json:"budget_names,omitempty"`
	Counts      Counts   `json:"counts"`
	// Latency summarises the durations of the key's recent attempts.
	Latency *Latency `json:"latency,omitempty"`
	// HedgeLatency is what the key's hedge trigger sees
	// (Options.Latencies), for hedged keys.
	HedgeLatency *Latency          `json:"hedge_latency,omitempty"`
	StopReasons  map[string]uint64 `json:"stop_reasons,omitempty"`
	Denials      []Denial          `json:"denials,omitempty"`
	Timelines    []TimelineSummary `json:"timelines,omitempty"`
}

// PolicyInForce describes a key's policy.
type PolicyInForce struct {
	ID      string `json:"id,omitempty"`
	Source  string `json:"source"`
	Version string `json:"version,omitempty"`
	// Origin says where the Inspector got the policy: "provider" (asked
	// now) or "last_call".
	Origin        string             `json:"origin"`
	ClampedFields []string           `json:"clamped_fields,omitempty"`
	Error         string             `json:"error,omitempty"`
	Retry         policy.RetryPolicy `json:"retry"`
	// Hedge is nil when the policy does not hedge.
	Hedge   *policy.HedgePolicy `json:"hedge,omitempty"`
	Circuit CircuitSummary      `json:"circuit"`
}

// CircuitSummary is the part of a circuit policy the page shows.
type CircuitSummary struct {
	Enabled          bool   `json:"enabled"`
	FailureThreshold int    `json:"failure_threshold,omitempty"`
	Cooldown         string `json:"cooldown,omitempty"`
	Shadow           bool   `json:"shadow,omitempty"`
}

// BreakerState is a key's breaker state.
type BreakerState struct {
	State string `json:"state"`
	// From and Since come from the last breaker event heard.
	From  string    `json:"from,omitempty"`
	Since time.Time `json:"since,omitempty"`
	// Origin is "registry" (read live from Options.Breakers) or "event".
	Origin string `json:"origin"`
}

// Counts are a key's totals since the Inspector started.
type Counts struct {
	Calls     uint64 `json:"calls"`
	Succeeded uint64 `json:"succeeded"`
	Failed    uint64 `json:"failed"`
	// Attempts counts the attempts that ran to the end; Denied those a
	// gate refused; Cancelled those the executor cancelled; Hedges the
	// hedges launched.
	Attempts  uint64 `json:"attempts"`
	Denied    uint64 `json:"denied"`
	Cancelled uint64 `json:"cancelled"`
	Hedges    uint64 `json:"hedges"`
}

// Latency summarises recent durations; quantiles are nearest-rank.
type Latency struct {
	Samples int    `json:"samples"`
	P50     string `json:"p50"`
	P90     string `json:"p90"`
	P99     string `json:"p99"`
	Max     string `json:"max,omitempty"`
}

// Denial is one attempt a gate refused.
type Denial struct {
	Time    time.Time `json:"time"`
	Attempt int       `json:"attempt"`
	Kind    string    `json:"kind"`
	Gate    string    `json:"gate"`
	Reason  string    `json:"reason"`
	Err     string    `json:"error,omitempty"`
}

// TimelineSummary is one recent call.
type TimelineSummary struct {
	Start      time.Time `json:"start"`
	Duration   string    `json:"duration"`
	Attempts   int       `json:"attempts"`
	StopReason string    `json:"stop_reason,omitempty"`
	Err        string    `json:"error,omitempty"`
	// Table is the timeline as observe.Timeline.String prints it.
	Table string `json:"table"`
}

// BudgetLevel is the level of one budget the policies name.
type BudgetLevel struct {
	Name string `json:"name"`
	// Type is the budget's kind: "token_bucket", "ratio", "throttle",
	// "unlimited", "other", or "not_registered" when the registry lacks
	// the name (calls then record budget_not_found).
	Type string `json:"type"`
	// Level is the budget's state in words ("2 tokens").
	Level string `json:"level,omitempty"`
	// Keys are the tracked keys whose policy names the budget.
	Keys []string `json:"keys"`
}

// EventRecord is one lifecycle event.
type EventRecord struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Key     string    `json:"key,omitempty"`
	From    string    `json:"from,omitempty"`
	To      string    `json:"to,omitempty"`
	Version string    `json:"version,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	Err     string    `json:"error,omitempty"`
}

// Overflow reports keys that got no state of their own.
type Overflow struct {
	// UntrackedCalls counts the calls of keys beyond Options.MaxKeys;
	// UntrackedKeys names the first of those keys.
	UntrackedCalls uint64   `json:"untracked_calls"`
	UntrackedKeys  []string `json:"untracked_keys,omitempty"`
	// Breakers and Latencies are the registries' own overflow counts
	// (circuit.Registry.Overflowed, hedge.Latencies.Overflowed), when
	// given.
	Breakers  *uint64 `json:"breakers,omitempty"`
	Latencies *uint64 `json:"latencies,omitempty"`
	// Events counts key_overflow events by the registry they name.
	Events map[string]uint64 `json:"events,omitempty"`
}

// Snapshot returns what the page shows now.
func (in *Inspector) Snapshot(ctx context.Context) Snapshot {
	now := in.clk.Now()
	s := Snapshot{Time: now, Keys: []KeySnapshot{}}
	if v, ok := in.opts.Provider.(controlplane.Versioned); ok {
		s.PolicyVersion = v.Version()
	}
	if le, ok := in.opts.Provider.(interface{ LastError() error }); ok {
		if err := le.LastError(); err != nil {
			s.ProviderError = err.Error()
		}
	}

	in.mu.RLock()
	order := append([]policy.PolicyKey(nil), in.order...)
	states := make([]*keyState, len(order))
	for i, k := range order {
		states[i] = in.keys[k]
	}
	in.mu.RUnlock()

	budgetKeys := map[string][]string{}
	for i, key := range order {
		ks := in.keySnapshot(ctx, now, key, states[i])
		for _, name := range ks.BudgetNames {
			budgetKeys[name] = append(budgetKeys[name], ks.Key)
		}
		s.Keys = append(s.Keys, ks)
	}
	s.Budgets = in.budgetLevels(now, budgetKeys)

	in.evMu.Lock()
	for _, ev := range in.events.newestFirst() {
		s.Events = append(s.Events, eventRecord(ev))
	}
	if len(in.eventCounts) > 0 {
		s.EventCounts = make(map[string]uint64, len(in.eventCounts))
		for k, v := range in.eventCounts {
			s.EventCounts[string(k)] = v
		}
	}
	if len(in.overflowed) > 0 {
		s.Overflow.Events = make(map[string]uint64, len(in.overflowed))
		for k, v := range in.overflowed {
			s.Overflow.Events[k] = v
		}
	}
	in.evMu.Unlock()

	s.Overflow.UntrackedCalls = in.untracked.Load()
	in.untrackedMu.Lock()
	s.Overflow.UntrackedKeys = append([]string(nil), in.untrackedKeys...)
	in.untrackedMu.Unlock()
	if in.opts.Breakers != nil {
		n := in.opts.Breakers.Overflowed()
		s.Overflow.Breakers = &n
	}
	if in.opts.Latencies != nil {
		n := in.opts.Latencies.Overflowed()
		s.Overflow.Latencies = &n
	}
	return s
}

func (in *Inspector) keySnapshot(ctx context.Context, now time.Time, key policy.PolicyKey, st *keyState) KeySnapshot {
	ks := KeySnapshot{Key: key.String()}
	st.mu.Lock()
	p, hasPolicy := st.policy, st.hasPolicy
	ks.Counts = st.counts
	if len(st.stops) > 0 {
		ks.StopReasons = make(map[string]uint64, len(st.stops))
		for k, v := range st.stops {
			ks.StopReasons[k] = v
		}
	}
	lat := st.latencies.newestFirst()
	ks.Denials = st.denials.newestFirst()
	tls := st.timelines.newestFirst()
	if st.breaker != nil {
		b := *st.breaker
		ks.Breaker = &b
	}
	st.mu.Unlock()

	origin := "last_call"
	var polErr error
	if in.opts.Provider != nil {
		fresh, err := in.opts.Provider.GetEffectivePolicy(ctx, key)
		if !fresh.IsZero() {
			p, hasPolicy, origin = fresh, true, "provider"
		}
		polErr = err
	}
	if hasPolicy {
		ks.Policy = policyInForce(p, origin, polErr)
		ks.BudgetNames = budgetNames(p)
	}
	// Registry lookups create state, so ask only about keys whose policy
	// enables the feature: the executor has created it already.
	if hasPolicy && p.Circuit.Enabled && in.opts.Breakers != nil {
		if b := in.opts.Breakers.For(key); b != nil {
			live := &BreakerState{State: b.State(now, p.Circuit).String(), Origin: "registry"}
			if ks.Breaker != nil {
				live.From, live.Since = ks.Breaker.From, ks.Breaker.Since
			}
			ks.Breaker = live
		}
	}
	if hasPolicy && p.Hedge.Enabled && in.opts.Latencies != nil {
		if t := in.opts.Latencies.For(key); t != nil && t.Count() > 0 {
			ks.HedgeLatency = &Latency{Samples: t.Count()}
			for _, q := range []struct {
				q   float64
				dst *string
			}{{0.5, &ks.HedgeLatency.P50}, {0.9, &ks.HedgeLatency.P90}, {0.99, &ks.HedgeLatency.P99}} {
				if d, ok := t.Quantile(q.q); ok {
					*q.dst = roundDur(d)
				} else {
					*q.dst = "too few samples"
				}
			}
		}
	}
	ks.Latency = quantiles(lat)
	for _, tl := range tls {
		ts := TimelineSummary{Start: tl.Start, Duration: roundDur(tl.End.Sub(tl.Start)), Attempts: len(tl.Attempts),
			StopReason: tl.Attributes[observe.AttrStopReason], Table: tl.String()}
		if tl.FinalErr != nil {
			ts.Err = tl.FinalErr.Error()
		}
		ks.Timelines = append(ks.Timelines, ts)
	}
	return ks
}

func policyInForce(p policy.EffectivePolicy, origin string, err error) *PolicyInForce {
	pf := &PolicyInForce{
		ID: p.ID, Source: string(p.Meta.Source), Version: p.Meta.Version, Origin: origin,
		ClampedFields: p.Meta.ClampedFields, Retry: p.Retry,
		Circuit: CircuitSummary{Enabled: p.Circuit.Enabled, Shadow: p.Circuit.Shadow},
	}
	if pf.Source == "" {
		pf.Source = string(policy.SourceUnknown)
	}
	if p.Hedge.Enabled {
		h := p.Hedge
		pf.Hedge = &h
	}
	if p.Circuit.Enabled {
		pf.Circuit.FailureThreshold = p.Circuit.FailureThreshold
		pf.Circuit.Cooldown = p.Circuit.Cooldown.String()
	}
	if err != nil {
		pf.Error = err.Error()
	}
	return pf
}

func budgetNames(p policy.EffectivePolicy) []string {
	var names []string
	if n := p.Retry.Budget.Name; n != "" {
		names = append(names, n)
	}
	if n := p.Hedge.Budget.Name; n != "" && (len(names) == 0 || names[0] != n) {
		names = append(names, n)
	}
	return names
}

// quantiles computes nearest-rank quantiles of ds.
func quantiles(ds []time.Duration) *Latency {
	if len(ds) == 0 {
		return nil
	}
	sorted := append([]time.Duration(nil), ds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	at := func(q float64) string {
		i := int(q*float64(len(sorted))+0.999999) - 1
		if i < 0 {
			i = 0
		}
		return roundDur(sorted[i])
	}
	return &Latency{Samples: len(sorted), P50: at(0.5), P90: at(0.9), P99: at(0.99), Max: roundDur(sorted[len(sorted)-1])}
}

func (in *Inspector) budgetLevels(now time.Time, keys map[string][]string) []BudgetLevel {
	names := make([]string, 0, len(keys))
	for n := range keys {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []BudgetLevel
	for _, n := range names {
		bl := BudgetLevel{Name: n, Type: "not_registered", Keys: keys[n]}
		if in.opts.Budgets == nil {
			bl.Type = "unknown"
			bl.Level = "no budget registry given to the inspector"
		} else if b, ok := in.opts.Budgets.Get(n); ok {
			bl.Type, bl.Level = budgetLevel(now, b)
		}
		out = append(out, bl)
	}
	return out
}

func eventRecord(ev observe.Event) EventRecord {
	r := EventRecord{Time: ev.Time, Kind: string(ev.Kind), From: ev.From, To: ev.To, Version: ev.Version, Detail: ev.Detail}
	if !ev.Key.IsZero() {
		r.Key = ev.Key.String()
	}
	if ev.Err != nil {
		r.Err = ev.Err.Error()
	}
	return r
}

func roundDur(d time.Duration) string {
	if d >= time.Millisecond {
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}
