package policy_test

import (
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/aponysus/rego/policy"
)

// TestDocumentSchemaInSync keeps docs/policy.schema.json, which editors
// use, in step with what DecodeDocument accepts: the same field names, the
// same jitter kinds and the same bounds.
func TestDocumentSchemaInSync(t *testing.T) {
	b, err := os.ReadFile("../docs/policy.schema.json")
	if err != nil {
		t.Skip("schema not found:", err)
	}
	type node struct {
		Properties map[string]*node `json:"properties"`
		Ref        string           `json:"$ref"`
		Enum       []string         `json:"enum"`
		Minimum    *float64         `json:"minimum"`
		Maximum    *float64         `json:"maximum"`
		Defs       map[string]*node `json:"$defs"`
	}
	var root node
	if err := json.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	names := func(n *node) []string {
		var out []string
		for k := range n.Properties {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	fields := func(v any) []string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	budget := policy.BudgetRef{Name: "b", Cost: 1}
	retry := policy.RetryPolicy{MaxAttempts: 1, InitialBackoff: time.Second, MaxBackoff: time.Second, BackoffMultiplier: 1,
		Jitter: "full", TimeoutPerAttempt: 1, OverallTimeout: 1, ClassifierName: "c", Budget: budget}
	hedge := policy.HedgePolicy{Enabled: true, MaxHedges: 1, Trigger: "fixed", Delay: 1, Budget: budget, CancelOnNonRetryable: true}
	circuit := policy.CircuitPolicy{Enabled: true, FailureThreshold: 1, Cooldown: 1}
	pol := root.Defs["policy"]
	checks := []struct {
		where  string
		schema *node
		want   []string
	}{
		{"document", &root, []string{"$schema", "default", "policies", "version"}},
		{"policy", pol, []string{"circuit", "hedge", "id", "retry"}},
		{"retry", pol.Properties["retry"], fields(retry)},
		{"hedge", pol.Properties["hedge"], fields(hedge)},
		{"circuit", pol.Properties["circuit"], fields(circuit)},
		{"budget", root.Defs["budget"], fields(budget)},
	}
	for _, c := range checks {
		if got := names(c.schema); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: schema has %v, decoder has %v", c.where, got, c.want)
		}
	}
	jitters := pol.Properties["retry"].Properties["jitter"].Enum
	for _, j := range jitters {
		if !policy.JitterKind(j).Valid() {
			t.Errorf("schema jitter %q is not a JitterKind", j)
		}
	}
	if len(jitters) != 4 {
		t.Errorf("schema jitters %v", jitters)
	}
	bounds := []struct {
		n      *node
		lo, hi float64
	}{
		{pol.Properties["retry"].Properties["max_attempts"], 1, policy.MaxMaxAttempts},
		{pol.Properties["retry"].Properties["backoff_multiplier"], policy.MinBackoffMultiplier, policy.MaxBackoffMultiplier},
		{pol.Properties["hedge"].Properties["max_hedges"], 1, policy.MaxMaxHedges},
		{root.Defs["budget"].Properties["cost"], 1, policy.MaxBudgetCost},
	}
	for _, bd := range bounds {
		if bd.n.Minimum == nil || bd.n.Maximum == nil || *bd.n.Minimum != bd.lo || *bd.n.Maximum != bd.hi {
			t.Errorf("schema bounds %v..%v, want %v..%v", bd.n.Minimum, bd.n.Maximum, bd.lo, bd.hi)
		}
	}
}
