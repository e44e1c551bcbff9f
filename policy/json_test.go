package policy_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aponysus/rego/policy"
)

func TestPolicyJSONRoundTrip(t *testing.T) {
	p := policy.EffectivePolicy{
		Key: policy.ParseKey("payments.Charge"),
		ID:  "charge-v2",
		Retry: policy.RetryPolicy{
			MaxAttempts: 5, InitialBackoff: 25 * time.Millisecond, MaxBackoff: 250 * time.Millisecond,
			BackoffMultiplier: 2, Jitter: policy.JitterEqual, TimeoutPerAttempt: 250 * time.Millisecond,
			OverallTimeout: 2 * time.Second, ClassifierName: "http", Budget: policy.BudgetRef{Name: "retries", Cost: 2},
		},
		Hedge: policy.HedgePolicy{Enabled: true, MaxHedges: 2, Trigger: policy.TriggerP95, Delay: 30 * time.Millisecond},
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"initial_backoff":"25ms"`, `"overall_timeout":"2s"`, `"max_attempts":5`, `"key":"payments.Charge"`, `"trigger":"p95"`} {
		if !strings.Contains(s, want) {
			t.Errorf("%s lacks %s", s, want)
		}
	}
	var back policy.EffectivePolicy
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Retry != p.Retry || back.Hedge != p.Hedge || back.Key != p.Key || back.ID != p.ID {
		t.Fatalf("round trip\n got %+v\nwant %+v", back, p)
	}
}

func TestPolicyJSONRejects(t *testing.T) {
	for _, src := range []string{
		`{"retry":{"max_attempts":3,"bogus":1}}`,
		`{"retry":{"initial_backoff":100}}`,
		`{"retry":{"initial_backoff":"soon"}}`,
		`{"hedge":{"delay":"1x"}}`,
		`{"unknown":{}}`,
	} {
		var p policy.EffectivePolicy
		if err := json.Unmarshal([]byte(src), &p); err == nil {
			t.Errorf("%s: no error", src)
		}
	}
}

func FuzzPolicyJSON(f *testing.F) {
	f.Add([]byte(`{"retry":{"max_attempts":3,"initial_backoff":"25ms","jitter":"equal"},"hedge":{"enabled":true,"delay":"10ms"}}`))
	f.Add([]byte(`{"key":"a.b","id":"x","circuit":{"cooldown":"1s"},"meta":{"source":"static"}}`))
	f.Add([]byte(`{"retry":{"initial_backoff":100}}`))
	f.Add([]byte(`{"key":". 0"}`)) // a key whose string form parses differently
	f.Add([]byte(`{"circuit":{"failure_rate_threshold":-0.5,"window":"1h","shadow":true},"bulkhead":{"enabled":true,"max_queue":3},` +
		`"rate_limit":{"rate":1e300,"burst":-1},"concurrency":{"algorithm":"x"},"shed":{"capacity":2},` +
		`"gates":[{"name":"a","shadow":true},{}],"retry":{"budget":{"name":"b","shadow":true}}}`))
	f.Add([]byte(`{"gates":null,"shed":null,"hedge":{"budget":{"cost":-0}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p policy.EffectivePolicy
		if err := json.Unmarshal(b, &p); err != nil {
			return
		}
		// Whatever decodes must normalise without panicking, and encode
		// to a form that decodes to the same policy.
		_, _ = p.Normalize()
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var back policy.EffectivePolicy
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
		// A key survives the trip when its string form does (see
		// PolicyKey.String for the keys whose string form is ambiguous).
		if policy.ParseKey(p.Key.String()) != p.Key {
			back.Key = p.Key
		}
		if len(p.Gates) == 0 && len(back.Gates) == 0 {
			p.Gates, back.Gates = nil, nil
		}
		if !reflect.DeepEqual(back, p) {
			t.Fatalf("round trip changed the policy:\n%+v\n%+v", p, back)
		}
	})
}
