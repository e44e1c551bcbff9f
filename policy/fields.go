package policy

import "time"

// policyFields is the field table: every field of a policy, declared once,
// in the order documents and encodings write them. DecodeDocument, Normalize,
// the warnings, the JSON encodings, the JSON Schema (docs/policy.schema.json)
// and the field table of docs/policies.md are all derived from it.
//
// A field's doc says what it does; its rule gives the default and the range,
// which the generated docs append.
var policyFields = []*field[EffectivePolicy]{
	strField("id", func(p *EffectivePolicy) *string { return &p.ID },
		"A name for this policy, recorded in timelines."),
	sectionOf("retry", retryOf, "How many attempts to make and how to wait between them.",
		intField("retry.max_attempts", func(p *EffectivePolicy) *int { return &p.Retry.MaxAttempts },
			rule{def: DefaultMaxAttempts, lo: 1, hi: MaxMaxAttempts},
			"Attempts per call, counting the first and every hedge."),
		durField("retry.initial_backoff", func(p *EffectivePolicy) *time.Duration { return &p.Retry.InitialBackoff },
			rule{def: float64(DefaultInitialBackoff), lo: float64(MinInitialBackoff), hi: float64(MaxInitialBackoff)},
			"The wait (before jitter) before the first retry."),
		durField("retry.max_backoff", func(p *EffectivePolicy) *time.Duration { return &p.Retry.MaxBackoff },
			rule{def: float64(DefaultMaxBackoff), lo: float64(MinInitialBackoff), loFrom: "retry.initial_backoff", hi: float64(MaxMaxBackoff)},
			"Caps every wait."),
		floatField("retry.backoff_multiplier", func(p *EffectivePolicy) *float64 { return &p.Retry.BackoffMultiplier },
			rule{def: DefaultBackoffMultiplier, lo: MinBackoffMultiplier, hi: MaxBackoffMultiplier},
			"Grows the wait between retries."),
		enumField("retry.jitter", func(p *EffectivePolicy) *string { return (*string)(&p.Retry.Jitter) }, "jitter kind",
			[]string{string(JitterNone), string(JitterFull), string(JitterEqual), string(JitterDecorrelated)}, string(JitterFull), false,
			"Randomises the waits."),
		durField("retry.timeout_per_attempt", func(p *EffectivePolicy) *time.Duration { return &p.Retry.TimeoutPerAttempt },
			rule{zero: zeroOff, zeroText: "none", lo: float64(MinTimeout), hi: float64(MaxTimeoutPerAttempt)},
			"Bounds each attempt."),
		durField("retry.overall_timeout", func(p *EffectivePolicy) *time.Duration { return &p.Retry.OverallTimeout },
			rule{zero: zeroOff, zeroText: "none", lo: float64(MinTimeout), hi: float64(MaxOverallTimeout)},
			"Bounds the whole call, waits included."),
		strField("retry.classifier", func(p *EffectivePolicy) *string { return &p.Retry.ClassifierName },
			"A classifier in the executor's registry; empty means the executor's default classifier."),
		budgetField("retry.budget", func(p *EffectivePolicy) *BudgetRef { return &p.Retry.Budget },
			"The budget that gates retries (and first attempts, for budgets that throttle)."),
	),
	sectionOf("hedge", hedgeOf, "Whether and when to send extra concurrent attempts (hedges).",
		boolField("hedge.enabled", func(p *EffectivePolicy) *bool { return &p.Hedge.Enabled },
			"Turns hedging on."),
		intField("hedge.max_hedges", func(p *EffectivePolicy) *int { return &p.Hedge.MaxHedges },
			rule{def: DefaultMaxHedges, lo: 1, hi: MaxMaxHedges},
			"Hedges launched per retry step; they count toward retry.max_attempts."),
		enumField("hedge.trigger", func(p *EffectivePolicy) *string { return (*string)(&p.Hedge.Trigger) }, "hedge trigger",
			[]string{string(TriggerFixed), string(TriggerP50), string(TriggerP90), string(TriggerP95), string(TriggerP99)}, string(TriggerFixed), true,
			"When to hedge: a built-in trigger or one registered with package hedge."),
		durField("hedge.delay", func(p *EffectivePolicy) *time.Duration { return &p.Hedge.Delay },
			rule{def: float64(DefaultHedgeDelay), lo: float64(MinHedgeDelay), hi: float64(MaxHedgeDelay)},
			"The fixed trigger's delay, and the latency triggers' delay until they have enough samples."),
		budgetField("hedge.budget", func(p *EffectivePolicy) *BudgetRef { return &p.Hedge.Budget },
			"The budget that gates each hedge."),
		boolField("hedge.cancel_on_non_retryable", func(p *EffectivePolicy) *bool { return &p.Hedge.CancelOnNonRetryable },
			"Ends the call as soon as any attempt returns a non-retryable outcome."),
	),
	sectionOf("circuit", circuitOf, "The key's circuit breaker.",
		boolField("circuit.enabled", func(p *EffectivePolicy) *bool { return &p.Circuit.Enabled },
			"Turns the breaker on."),
		intField("circuit.failure_threshold", func(p *EffectivePolicy) *int { return &p.Circuit.FailureThreshold },
			rule{def: DefaultFailureThreshold, lo: 1, hi: MaxFailureThreshold},
			"Consecutive failed attempts that open the breaker."),
		durField("circuit.cooldown", func(p *EffectivePolicy) *time.Duration { return &p.Circuit.Cooldown },
			rule{def: float64(DefaultCooldown), lo: float64(MinCooldown), hi: float64(MaxCooldown)},
			"How long the breaker stays open before it lets probes through."),
		floatField("circuit.failure_rate_threshold", func(p *EffectivePolicy) *float64 { return &p.Circuit.FailureRateThreshold },
			fraction(zeroOff, 0),
			"Opens the breaker when this share of the attempts in the window failed."),
		durField("circuit.slow_call_duration", func(p *EffectivePolicy) *time.Duration { return &p.Circuit.SlowCallDuration },
			rule{zero: zeroOff, zeroText: "off", lo: float64(MinTimeout), hi: float64(MaxSlowCallDuration)},
			"An attempt slower than this counts as slow."),
		floatField("circuit.slow_call_rate_threshold", func(p *EffectivePolicy) *float64 { return &p.Circuit.SlowCallRateThreshold },
			fraction(zeroOff, 0),
			"Opens the breaker when this share of the attempts in the window was slow."),
		durField("circuit.window", func(p *EffectivePolicy) *time.Duration { return &p.Circuit.Window },
			rule{def: float64(DefaultCircuitWindow), lo: float64(MinCircuitWindow), hi: float64(MaxCircuitWindow)},
			"The sliding window of the rate rules."),
		intField("circuit.min_throughput", func(p *EffectivePolicy) *int { return &p.Circuit.MinThroughput },
			rule{def: DefaultMinThroughput, lo: 1, hi: MaxMinThroughput},
			"Attempts that must end in the window before a rate rule may open the breaker."),
		intField("circuit.half_open_probes", func(p *EffectivePolicy) *int { return &p.Circuit.HalfOpenProbes },
			rule{def: DefaultHalfOpenProbes, lo: 1, hi: MaxHalfOpenProbes},
			"Probe attempts a half-open breaker lets through at once."),
		intField("circuit.success_threshold", func(p *EffectivePolicy) *int { return &p.Circuit.SuccessThreshold },
			rule{defFrom: "circuit.half_open_probes", lo: 1, hi: MaxHalfOpenProbes, hiFrom: "circuit.half_open_probes"},
			"Probes that must succeed to close the breaker."),
		boolField("circuit.shadow", func(p *EffectivePolicy) *bool { return &p.Circuit.Shadow },
			"Records what the breaker decides without enforcing it."),
	),
	sectionOf("bulkhead", bulkheadOf, "Caps the attempts of the key that run at once.",
		boolField("bulkhead.enabled", func(p *EffectivePolicy) *bool { return &p.Bulkhead.Enabled },
			"Turns the bulkhead on."),
		intField("bulkhead.max_concurrent", func(p *EffectivePolicy) *int { return &p.Bulkhead.MaxConcurrent },
			rule{def: DefaultMaxConcurrent, lo: 1, hi: MaxMaxConcurrent},
			"Attempts of the key that may run at once."),
		durField("bulkhead.max_wait", func(p *EffectivePolicy) *time.Duration { return &p.Bulkhead.MaxWait },
			gateWait, "How long an attempt may wait for a free slot; zero refuses it at once."),
		intField("bulkhead.max_queue", func(p *EffectivePolicy) *int { return &p.Bulkhead.MaxQueue },
			rule{defFrom: "bulkhead.max_concurrent", lo: 1, hi: MaxMaxQueue},
			"Attempts that may wait at once; further ones are refused at once."),
		boolField("bulkhead.shadow", func(p *EffectivePolicy) *bool { return &p.Bulkhead.Shadow },
			"Records what the bulkhead decides without enforcing it."),
	),
	sectionOf("rate_limit", rateLimitOf, "Limits the rate of the key's first attempts (a token bucket).",
		boolField("rate_limit.enabled", func(p *EffectivePolicy) *bool { return &p.RateLimit.Enabled },
			"Turns the limiter on."),
		floatField("rate_limit.rate", func(p *EffectivePolicy) *float64 { return &p.RateLimit.Rate },
			rule{def: DefaultRate, lo: 0, loOpen: true, hi: MaxRate},
			"The sustained rate, in first attempts per second."),
		intField("rate_limit.burst", func(p *EffectivePolicy) *int { return &p.RateLimit.Burst },
			rule{defFrom: "rate_limit.rate", defMin: 1, lo: 1, hi: MaxBurst},
			"First attempts that may run at once above the rate."),
		durField("rate_limit.max_wait", func(p *EffectivePolicy) *time.Duration { return &p.RateLimit.MaxWait },
			gateWait, "How long a first attempt may wait for a token; zero refuses it at once."),
		boolField("rate_limit.shadow", func(p *EffectivePolicy) *bool { return &p.RateLimit.Shadow },
			"Records what the limiter decides without enforcing it."),
	),
	sectionOf("concurrency", concurrencyOf, "An adaptive limit on the attempts in flight.",
		boolField("concurrency.enabled", func(p *EffectivePolicy) *bool { return &p.Concurrency.Enabled },
			"Turns the adaptive limit on."),
		enumField("concurrency.algorithm", func(p *EffectivePolicy) *string { return &p.Concurrency.Algorithm }, "algorithm",
			[]string{AlgorithmGradient2, AlgorithmVegas, AlgorithmAIMD}, AlgorithmGradient2, false,
			"How the limit moves with the latency observed."),
		intField("concurrency.min_limit", func(p *EffectivePolicy) *int { return &p.Concurrency.MinLimit },
			rule{def: DefaultMinLimit, lo: 1, hi: MaxLimit},
			"The lowest the limit goes."),
		intField("concurrency.max_limit", func(p *EffectivePolicy) *int { return &p.Concurrency.MaxLimit },
			rule{def: DefaultMaxLimit, lo: 1, loFrom: "concurrency.min_limit", hi: MaxLimit},
			"The highest the limit goes."),
		intField("concurrency.initial_limit", func(p *EffectivePolicy) *int { return &p.Concurrency.InitialLimit },
			rule{def: DefaultInitialLimit, lo: 1, loFrom: "concurrency.min_limit", hi: MaxLimit, hiFrom: "concurrency.max_limit"},
			"The limit before any latency is seen."),
		durField("concurrency.max_wait", func(p *EffectivePolicy) *time.Duration { return &p.Concurrency.MaxWait },
			gateWait, "How long an attempt may wait when the limit is reached; zero refuses it at once."),
		boolField("concurrency.shadow", func(p *EffectivePolicy) *bool { return &p.Concurrency.Shadow },
			"Records what the limit decides without enforcing it."),
	),
	sectionOf("shed", shedOf, "Load shedding by criticality: less critical work is refused first.",
		boolField("shed.enabled", func(p *EffectivePolicy) *bool { return &p.Shed.Enabled },
			"Turns shedding on."),
		intField("shed.capacity", func(p *EffectivePolicy) *int { return &p.Shed.Capacity },
			rule{zero: zeroOff, zeroText: "the bulkhead's or adaptive limit", lo: 1, hi: MaxShedCapacity},
			"The concurrency the fractions apply to; zero means the bulkhead's max_concurrent, or the adaptive limit."),
		floatField("shed.sheddable_fraction", func(p *EffectivePolicy) *float64 { return &p.Shed.SheddableFraction },
			fraction(zeroDefault, DefaultSheddableFraction),
			"The share of the capacity sheddable work may fill."),
		floatField("shed.sheddable_plus_fraction", func(p *EffectivePolicy) *float64 { return &p.Shed.SheddablePlusFraction },
			fraction(zeroDefault, DefaultSheddablePlusFraction),
			"The share of the capacity sheddable_plus work may fill."),
		floatField("shed.critical_fraction", func(p *EffectivePolicy) *float64 { return &p.Shed.CriticalFraction },
			fraction(zeroDefault, DefaultCriticalFraction),
			"The share of the capacity critical work (the default criticality) may fill; critical_plus work is never shed."),
		boolField("shed.shadow", func(p *EffectivePolicy) *bool { return &p.Shed.Shadow },
			"Records what shedding decides without enforcing it."),
	),
	{path: "gates", name: "gates", kind: kindGates, gatesp: func(p *EffectivePolicy) *[]GateRef { return &p.Gates },
		doc: "User gates from the executor's gate registry, asked after the built-in ones in this order."},
}

// gateFields are the fields of one entry of the gates list.
var gateFields = []*field[GateRef]{
	{path: "name", name: "name", kind: kindString, strp: func(g *GateRef) *string { return &g.Name }, required: true,
		doc: "A gate in the executor's gate registry."},
	boolField("shadow", func(g *GateRef) *bool { return &g.Shadow },
		"Records what the gate decides without enforcing it."),
}

// budgetDoc describes the shared schema definition of budget references.
const budgetDoc = "A budget in the executor's registry and the cost of one attempt against it."

// budgetField declares a BudgetRef at path.
func budgetField(path string, b func(*EffectivePolicy) *BudgetRef, doc string) *field[EffectivePolicy] {
	return objectField(path, "budget", doc,
		strField(path+".name", func(p *EffectivePolicy) *string { return &b(p).Name },
			"A budget in the executor's registry; empty means no budget."),
		intField(path+".cost", func(p *EffectivePolicy) *int { return &b(p).Cost },
			rule{def: DefaultBudgetCost, lo: 1, hi: MaxBudgetCost},
			"The cost of one attempt against the budget."),
		boolField(path+".shadow", func(p *EffectivePolicy) *bool { return &b(p).Shadow },
			"Records what the budget decides without enforcing it."),
	)
}

// fraction is the rule of a share in (0, 1]. Above 1 is an error in a
// document: it is most likely a percentage.
func fraction(z zeroMeaning, def float64) rule {
	return rule{zero: z, zeroText: "off", def: def, lo: 0, loOpen: true, hi: 1, errAbove: 1}
}

// gateWait is the rule of a gate's MaxWait: zero refuses at once.
var gateWait = rule{zero: zeroOff, zeroText: "refuse at once", lo: 0, hi: float64(MaxGateWait)}

// sectionOf declares the section called name, at(p) in a policy. A
// section left empty normalises to its defaults as a whole (Normalize's
// fast path): every field a section's rules refer to is in the section.
func sectionOf[S comparable](name string, at func(*EffectivePolicy) *S, doc string, sub ...*field[EffectivePolicy]) *field[EffectivePolicy] {
	f := objectField(name, "", doc, sub...)
	var zero S
	f.empty = func(p *EffectivePolicy) bool { return *at(p) == zero }
	f.fill = func(p *EffectivePolicy) { *at(p) = *at(&sectionDefaults) }
	return f
}

// sectionDefaults holds every section at its defaults, once init has run.
var sectionDefaults EffectivePolicy

func init() {
	var n normalizer
	n.policy(&sectionDefaults)
	sectionDefaultsReady = true
}

// sectionDefaultsReady turns Normalize's fast path on once
// sectionDefaults is filled.
var sectionDefaultsReady bool

// sectionNamed returns the section called name.
func sectionNamed(name string) *field[EffectivePolicy] {
	return lookupField(policyFields, name)
}

// leafByPath maps every leaf field's path to it. policySections is
// policyFields once the fields' references are resolved and each section
// lists its leaves: Normalize reads it, so that the initialisation of
// package variables that normalise (defaultPolicy) waits for this.
var leafByPath, policySections = func() (map[string]*field[EffectivePolicy], []*field[EffectivePolicy]) {
	m := map[string]*field[EffectivePolicy]{}
	var leaves []*field[EffectivePolicy]
	walk(policyFields, func(f *field[EffectivePolicy]) {
		m[f.path] = f
		leaves = append(leaves, f)
	})
	resolve := func(path string) *field[EffectivePolicy] {
		if path == "" {
			return nil
		}
		f, ok := m[path]
		if !ok {
			panic("policy: the field table names an unknown field " + path)
		}
		return f
	}
	for _, f := range leaves {
		f.loF, f.hiF, f.defF = resolve(f.rule.loFrom), resolve(f.rule.hiFrom), resolve(f.rule.defFrom)
	}
	for _, sec := range policyFields {
		walk([]*field[EffectivePolicy]{sec}, func(f *field[EffectivePolicy]) { sec.leaves = append(sec.leaves, f) })
	}
	return m, policyFields
}()
