package policy_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aponysus/rego/policy"
)

// TestDocumentSchemaDescribesEncoding checks docs/policy.schema.json
// against what the encoder writes: every member of a policy with every
// field set is a property of the schema at the same place.
func TestDocumentSchemaDescribesEncoding(t *testing.T) {
	b, err := os.ReadFile("../docs/policy.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	defs := schema["$defs"].(map[string]any)
	p := policy.DefaultPolicyFor(policy.ParseKey("a.b"))
	p.ID = "x"
	p.Retry.TimeoutPerAttempt, p.Retry.OverallTimeout, p.Retry.ClassifierName = time.Second, 2*time.Second, "c"
	p.Retry.Budget = policy.BudgetRef{Name: "b", Cost: 2, Shadow: true}
	p.Hedge = policy.HedgePolicy{Enabled: true, MaxHedges: 2, Trigger: "p95", Delay: time.Millisecond,
		Budget: policy.BudgetRef{Name: "h", Cost: 1, Shadow: true}, CancelOnNonRetryable: true}
	p.Circuit.Enabled, p.Circuit.Shadow = true, true
	p.Circuit.FailureRateThreshold, p.Circuit.SlowCallDuration, p.Circuit.SlowCallRateThreshold = 0.5, time.Second, 0.5
	p.Bulkhead.Enabled, p.Bulkhead.Shadow, p.Bulkhead.MaxWait = true, true, time.Millisecond
	p.RateLimit.Enabled, p.RateLimit.Shadow, p.RateLimit.MaxWait = true, true, time.Millisecond
	p.Concurrency.Enabled, p.Concurrency.Shadow, p.Concurrency.MaxWait = true, true, time.Millisecond
	p.Shed.Enabled, p.Shed.Shadow, p.Shed.Capacity = true, true, 5
	p.Gates = []policy.GateRef{{Name: "g", Shadow: true}}
	enc, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(enc, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "key")
	delete(m, "meta")
	count := 0
	var check func(path string, v any, s map[string]any)
	check = func(path string, v any, s map[string]any) {
		if ref, ok := s["$ref"].(string); ok {
			s = defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		}
		switch v := v.(type) {
		case map[string]any:
			props, _ := s["properties"].(map[string]any)
			for k, sub := range v {
				ps, ok := props[k].(map[string]any)
				if !ok {
					t.Errorf("%s.%s is written but not in the schema", path, k)
					continue
				}
				check(path+"."+k, sub, ps)
			}
		case []any:
			items := s["items"].(map[string]any)
			for _, it := range v {
				check(path+"[]", it, items)
			}
		default:
			count++
		}
	}
	check("policy", m, defs["policy"].(map[string]any))
	if count < 55 {
		t.Fatalf("only %d leaves checked:\n%s", count, enc)
	}
}
