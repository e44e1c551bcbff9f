package policy_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aponysus/rego/policy"
)

// allSectionsDoc sets a field of every section.
const allSectionsDoc = `{"version":"v2","policies":{"a.b":{
  "circuit": {"enabled": true, "failure_threshold": 3, "cooldown": "2s", "failure_rate_threshold": 0.5,
              "slow_call_duration": "300ms", "slow_call_rate_threshold": 0.8, "window": "30s",
              "min_throughput": 20, "half_open_probes": 4, "success_threshold": 2, "shadow": true},
  "bulkhead": {"enabled": true, "max_concurrent": 50, "max_wait": "20ms", "max_queue": 5, "shadow": true},
  "rate_limit": {"enabled": true, "rate": 2.5, "max_wait": "5ms"},
  "concurrency": {"enabled": true, "algorithm": "vegas", "min_limit": 5, "max_limit": 200, "initial_limit": 10},
  "shed": {"enabled": true, "capacity": 40, "sheddable_fraction": 0.6},
  "retry": {"budget": {"name": "r", "shadow": true}},
  "gates": [{"name": "quota"}, {"name": "canary", "shadow": true}]
}}}`

func TestDecodeEverySection(t *testing.T) {
	doc, err := policy.DecodeDocument([]byte(allSectionsDoc))
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Warnings) != 0 {
		t.Fatalf("warnings %v", doc.Warnings)
	}
	p, _ := doc.Lookup(policy.ParseKey("a.b"))
	want := policy.DefaultPolicyFor(policy.ParseKey("a.b"))
	want.Meta = p.Meta
	want.Circuit = policy.CircuitPolicy{Enabled: true, FailureThreshold: 3, Cooldown: 2 * time.Second, FailureRateThreshold: 0.5,
		SlowCallDuration: 300 * time.Millisecond, SlowCallRateThreshold: 0.8, Window: 30 * time.Second,
		MinThroughput: 20, HalfOpenProbes: 4, SuccessThreshold: 2, Shadow: true}
	want.Bulkhead = policy.BulkheadPolicy{Enabled: true, MaxConcurrent: 50, MaxWait: 20 * time.Millisecond, MaxQueue: 5, Shadow: true}
	want.RateLimit = policy.RateLimitPolicy{Enabled: true, Rate: 2.5, Burst: 2, MaxWait: 5 * time.Millisecond}
	want.Concurrency = policy.ConcurrencyPolicy{Enabled: true, Algorithm: "vegas", MinLimit: 5, MaxLimit: 200, InitialLimit: 10}
	want.Shed = policy.ShedPolicy{Enabled: true, Capacity: 40, SheddableFraction: 0.6, SheddablePlusFraction: 0.75, CriticalFraction: 0.9}
	want.Retry.Budget = policy.BudgetRef{Name: "r", Cost: 1, Shadow: true}
	want.Gates = []policy.GateRef{{Name: "quota"}, {Name: "canary", Shadow: true}}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("got  %+v\nwant %+v", p, want)
	}
}

func TestDefaultsOfTheOverloadSections(t *testing.T) {
	p := policy.DefaultPolicyFor(policy.ParseKey("a.b"))
	c := p.Circuit
	if c.Window != policy.DefaultCircuitWindow || c.MinThroughput != 10 || c.HalfOpenProbes != 1 || c.SuccessThreshold != 1 ||
		c.FailureRateThreshold != 0 || c.SlowCallDuration != 0 {
		t.Errorf("circuit %+v", c)
	}
	if b := p.Bulkhead; b.MaxConcurrent != 10 || b.MaxQueue != 10 || b.MaxWait != 0 || b.Enabled {
		t.Errorf("bulkhead %+v", b)
	}
	if r := p.RateLimit; r.Rate != 100 || r.Burst != 100 || r.Enabled {
		t.Errorf("rate limit %+v", r)
	}
	if a := p.Concurrency; a.Algorithm != policy.AlgorithmGradient2 || a.MinLimit != 1 || a.MaxLimit != 1000 || a.InitialLimit != 20 {
		t.Errorf("concurrency %+v", a)
	}
	if s := p.Shed; s.SheddableFraction != 0.5 || s.SheddablePlusFraction != 0.75 || s.CriticalFraction != 0.9 || s.Capacity != 0 {
		t.Errorf("shed %+v", s)
	}
	if len(p.Gates) != 0 {
		t.Errorf("gates %v", p.Gates)
	}
}

// TestNormalizeRelations checks the ranges one field sets for another.
func TestNormalizeRelations(t *testing.T) {
	var p policy.EffectivePolicy
	p.Circuit.HalfOpenProbes, p.Circuit.SuccessThreshold = 3, 5
	p.Concurrency.MinLimit, p.Concurrency.MaxLimit = 50, 10
	p.RateLimit.Rate = 0.25
	p.Bulkhead.MaxConcurrent = 7
	n, err := p.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if n.Circuit.SuccessThreshold != 3 || n.Concurrency.MaxLimit != 50 || n.Concurrency.InitialLimit != 50 ||
		n.RateLimit.Burst != 1 || n.Bulkhead.MaxQueue != 7 {
		t.Fatalf("%+v", n)
	}
	if got := strings.Join(n.Meta.ClampedFields, ","); got != "circuit.success_threshold,concurrency.max_limit" {
		t.Fatalf("clamped %s", got)
	}
}

func TestNormalizeNewFieldsClamp(t *testing.T) {
	var p policy.EffectivePolicy
	p.Circuit.FailureRateThreshold = -0.5 // off
	p.Circuit.SlowCallRateThreshold = 3   // 1
	p.Circuit.Window = time.Hour          // 10m
	p.Bulkhead.MaxWait = -time.Second     // refuse at once
	p.RateLimit.Rate = -1                 // the default
	p.Shed.Capacity = -2                  // automatic
	n, err := p.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if n.Circuit.FailureRateThreshold != 0 || n.Circuit.SlowCallRateThreshold != 1 || n.Circuit.Window != policy.MaxCircuitWindow ||
		n.Bulkhead.MaxWait != 0 || n.RateLimit.Rate != policy.DefaultRate || n.Shed.Capacity != 0 {
		t.Fatalf("%+v", n)
	}
	if len(n.Meta.ClampedFields) != 6 {
		t.Fatalf("clamped %v", n.Meta.ClampedFields)
	}
}

func TestNormalizeRejectsBadNames(t *testing.T) {
	p := policy.EffectivePolicy{Concurrency: policy.ConcurrencyPolicy{Algorithm: "vegs"},
		Gates: []policy.GateRef{{Name: "a"}, {}, {Name: "a"}}}
	_, err := p.Normalize()
	if !errors.Is(err, policy.ErrInvalidPolicy) {
		t.Fatal(err)
	}
	for _, want := range []string{
		`policy: concurrency.algorithm: unknown algorithm (want gradient2, vegas or aimd); did you mean "vegas"? (got "vegs")`,
		`policy: gates[1].name: a gate needs a name`,
		`policy: gates[2].name: gate listed twice (got "a")`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v lacks %s", err, want)
		}
	}
}

// TestWarningsCarryValues: every clamp warning says what the value was and
// what it became, for every section.
func TestWarningsCarryValues(t *testing.T) {
	doc, err := policy.DecodeDocument([]byte(`{"version":"1","default":{
		"circuit":{"failure_threshold":5000,"cooldown":"1ms","window":"20m","half_open_probes":2,"success_threshold":3,"failure_rate_threshold":0},
		"bulkhead":{"max_concurrent":200000},"rate_limit":{"rate":2e6},"concurrency":{"min_limit":9,"max_limit":3},
		"shed":{"capacity":100001}}}`))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, w := range doc.Warnings {
		got[strings.TrimPrefix(w.Path, "default.")] = w.Msg
	}
	want := map[string]string{
		"circuit.failure_threshold": "out of range (got 5000), clamped to 1000",
		"circuit.cooldown":          "out of range (got 1ms), clamped to 10ms",
		"circuit.window":            "out of range (got 20m), clamped to 10m",
		"circuit.success_threshold": "out of range (got 3), clamped to 2",
		"bulkhead.max_concurrent":   "out of range (got 200000), clamped to 100000",
		"rate_limit.rate":           "out of range (got 2000000), clamped to 1000000",
		"concurrency.max_limit":     "out of range (got 3), clamped to 9",
		"shed.capacity":             "out of range (got 100001), clamped to 100000",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("warnings\n got %v\nwant %v", got, want)
	}
}

func TestDocumentRules(t *testing.T) {
	cases := []struct {
		name, policy, path, msg string
		warning                 bool
	}{
		{"negative duration", `{"retry":{"initial_backoff":"-5ms"}}`, "retry.initial_backoff", "must not be negative (got -5ms)", false},
		{"negative max backoff", `{"retry":{"max_backoff":"-1s"}}`, "retry.max_backoff", "must not be negative (got -1s)", false},
		{"negative threshold", `{"circuit":{"failure_threshold":-1}}`, "circuit.failure_threshold", "must not be negative (got -1)", false},
		{"negative timeout", `{"retry":{"overall_timeout":"-1s"}}`, "retry.overall_timeout", "must not be negative", false},
		{"far out", `{"retry":{"max_attempts":1000}}`, "retry.max_attempts", "far out of range (got 1000, at most 10)", false},
		{"percentage", `{"circuit":{"failure_rate_threshold":50}}`, "circuit.failure_rate_threshold", "far out of range (got 50, at most 1)", false},
		{"typo field", `{"retry":{"max_atempts":3}}`, "retry.max_atempts", `did you mean "max_attempts"?`, false},
		{"typo section", `{"retyr":{}}`, "retyr", `did you mean "retry"?`, false},
		{"typo jitter", `{"retry":{"jitter":"decorelated"}}`, "retry.jitter", `did you mean "decorrelated"?`, false},
		{"typo algorithm", `{"concurrency":{"algorithm":"AIMD"}}`, "concurrency.algorithm", `did you mean "aimd"?`, false},
		{"blank trigger", `{"hedge":{"trigger":" "}}`, "hedge.trigger", "blank hedge trigger name", false},
		{"gates not a list", `{"gates":{"name":"x"}}`, "gates", "want a list of gates", false},
		{"gate without name", `{"gates":[{"shadow":true}]}`, "gates[0].name", "a gate needs a name", false},
		{"gate twice", `{"gates":[{"name":"q"},{"name":"q"}]}`, "gates[1].name", "gate listed twice", false},
		{"gate null", `{"gates":[null]}`, "gates[0]", "want an object", false},
		{"gate typo", `{"gates":[{"nme":"q"}]}`, "gates[0].nme", `did you mean "name"?`, false},
		{"trigger typo", `{"hedge":{"trigger":"p955"}}`, "hedge.trigger", `did you mean "p95"?`, true},
		{"zero delay", `{"hedge":{"delay":"0s"}}`, "hedge.delay", "0s means the default (50ms)", true},
		{"zero attempts", `{"retry":{"max_attempts":0}}`, "retry.max_attempts", "0 means the default (3)", true},
		{"zero burst", `{"rate_limit":{"burst":0}}`, "rate_limit.burst", "0 means the default (max(1, rate_limit.rate))", true},
		{"overall shorter", `{"retry":{"timeout_per_attempt":"2s","overall_timeout":"1s"}}`, "retry.overall_timeout", "shorter than retry.timeout_per_attempt (2s)", true},
		{"hedge without attempts", `{"retry":{"max_attempts":1},"hedge":{"enabled":true}}`, "hedge.enabled", "no hedge can launch", true},
		{"hedge after timeout", `{"retry":{"timeout_per_attempt":"50ms"},"hedge":{"enabled":true,"delay":"80ms"}}`, "hedge.delay", "attempts time out before a hedge launches", true},
		{"slow rate without duration", `{"circuit":{"slow_call_rate_threshold":0.5}}`, "circuit.slow_call_rate_threshold", "never opens the breaker", true},
		{"shed order", `{"shed":{"sheddable_fraction":0.95}}`, "shed", "should grow with criticality", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc, err := policy.DecodeDocument([]byte(`{"version":"1","policies":{"a.b":` + c.policy + `}}`))
			var probs []policy.Problem
			var de *policy.DocumentError
			switch {
			case errors.As(err, &de):
				probs = de.Problems
			case err != nil:
				t.Fatal(err)
			default:
				probs = doc.Warnings
			}
			path := `policies["a.b"].` + c.path
			for _, p := range probs {
				if p.Path == path && strings.Contains(p.Msg, c.msg) {
					if (p.Severity == policy.SeverityWarning) != c.warning {
						t.Fatalf("severity %s: %v", p.Severity, p)
					}
					if c.warning && err != nil {
						t.Fatalf("a warning rejected the document: %v", err)
					}
					return
				}
			}
			t.Fatalf("no problem at %s containing %q in %v", path, c.msg, probs)
		})
	}
}

// TestOneErrorHidesNothing: a structural error leaves the rest of the
// policy checked, and a bad key leaves its policy checked.
func TestOneErrorHidesNothing(t *testing.T) {
	_, err := policy.DecodeDocument([]byte(`{"version":"1","policies":{
		"a.b":{"hedge":{"delay":"fast"},"retry":{"jitter":"x","max_attempts":50,"initial_backoff":"-1s"}},
		" c.d":{"retry":{"max_attempts":-3}}}}`))
	var de *policy.DocumentError
	if !errors.As(err, &de) {
		t.Fatal(err)
	}
	var got []string
	for _, p := range de.Problems {
		got = append(got, string(p.Severity)+" "+p.Path)
	}
	want := []string{
		`error policies["a.b"].hedge.delay`,
		`error policies["a.b"].retry.jitter`,
		`error policies["a.b"].retry.initial_backoff`,
		`error policies[" c.d"]`,
		`error policies[" c.d"].retry.max_attempts`,
		`warning policies["a.b"].retry.max_attempts`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems\n got %v\nwant %v", got, want)
	}
}

func TestDecodeOptionsNames(t *testing.T) {
	src := []byte(`{"version":"1","default":{"retry":{"budget":{"name":"paymnets"},"classifier":"http"},
		"hedge":{"trigger":"p955","budget":{"name":"hedges"}},"gates":[{"name":"quota"},{"name":"canery"}]}}`)
	// Without lists, names are not checked (the trigger typo is a warning).
	doc, err := policy.DecodeDocument(src)
	if err != nil || len(doc.Warnings) != 1 {
		t.Fatalf("%v %v", err, doc)
	}
	_, err = policy.DecodeOptions{
		Budgets: []string{"payments", "hedges"}, Gates: []string{"quota", "canary"},
		Classifiers: []string{"http"}, Triggers: []string{"slowstart"},
	}.Decode(src)
	var de *policy.DocumentError
	if !errors.As(err, &de) {
		t.Fatal(err)
	}
	var got []string
	for _, p := range de.Problems {
		got = append(got, p.String())
	}
	want := []string{
		`default.retry.budget.name: budget "paymnets" is not registered (the program registers "hedges", "payments"); did you mean "payments"?`,
		`default.hedge.trigger: hedge trigger "p955" is not registered (the program registers "slowstart"); did you mean "p95"?`,
		`default.gates[1].name: gate "canery" is not registered (the program registers "canary", "quota"); did you mean "canary"?`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems\n got %q\nwant %q", got, want)
	}
	// An empty list means the program registers none.
	_, err = policy.DecodeOptions{Budgets: []string{}}.Decode([]byte(`{"version":"1","default":{"retry":{"budget":{"name":"b"}}}}`))
	if err == nil || !strings.Contains(err.Error(), `budget "b" is not registered (the program registers none)`) {
		t.Fatal(err)
	}
}

func TestDiff(t *testing.T) {
	a := policy.DefaultPolicyFor(policy.ParseKey("a.b"))
	b := a
	b.Retry.MaxAttempts = 5
	b.Retry.Jitter = policy.JitterEqual
	b.Hedge.Delay = time.Minute
	b.Circuit.Enabled = true
	b.Gates = []policy.GateRef{{Name: "q", Shadow: true}}
	b.Meta.Version = "other"
	got := policy.Diff(a, b)
	want := []policy.Change{
		{Path: "retry.max_attempts", Old: "3", New: "5"},
		{Path: "retry.jitter", Old: `"full"`, New: `"equal"`},
		{Path: "hedge.delay", Old: "50ms", New: "1m"},
		{Path: "circuit.enabled", Old: "false", New: "true"},
		{Path: "gates", Old: "[]", New: `["q" (shadow)]`},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
	if d := policy.Diff(a, a); len(d) != 0 {
		t.Fatalf("diff of a policy with itself: %v", d)
	}
}
