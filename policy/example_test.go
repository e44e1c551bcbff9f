package policy_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aponysus/rego/policy"
)

func ExampleParseKey() {
	k := policy.ParseKey("db.Users.Query")
	fmt.Printf("%q %q %s\n", k.Namespace, k.Name, k)
	// Output: "db" "Users.Query" db.Users.Query
}

func ExampleEffectivePolicy_Normalize() {
	p := policy.EffectivePolicy{Retry: policy.RetryPolicy{MaxAttempts: 50, InitialBackoff: 20 * time.Millisecond}}
	n, err := p.Normalize()
	fmt.Println(n.Retry.MaxAttempts, n.Retry.InitialBackoff, n.Retry.MaxBackoff, n.Retry.Jitter, n.Meta.ClampedFields, err)

	_, err = policy.EffectivePolicy{Retry: policy.RetryPolicy{Jitter: "gaussian"}}.Normalize()
	fmt.Println(err)
	// Output:
	// 10 20ms 10s full [retry.max_attempts] <nil>
	// policy: retry.jitter: unknown jitter kind (want none, full, equal or decorrelated) (got "gaussian")
}

func ExampleRetryPolicy_MarshalJSON() {
	b, _ := json.Marshal(policy.RetryPolicy{MaxAttempts: 4, InitialBackoff: 250 * time.Millisecond, Jitter: policy.JitterEqual})
	fmt.Println(string(b))
	// Output: {"max_attempts":4,"initial_backoff":"250ms","jitter":"equal"}
}

func ExampleDecodeOptions_Decode() {
	doc := []byte(`{"version": "v1", "policies": {
	  "payments.Charge": {"retry": {"max_attempts": 4, "jitter": "decorelated", "budget": {"name": "paymnets"}}}}}`)
	_, err := policy.DecodeOptions{Budgets: []string{"payments"}}.Decode(doc)
	var de *policy.DocumentError
	if errors.As(err, &de) {
		for _, p := range de.Problems {
			fmt.Println(p)
		}
	}
	// Output:
	// policies["payments.Charge"].retry.jitter: unknown jitter kind (want none, full, equal or decorrelated); did you mean "decorrelated"?
	// policies["payments.Charge"].retry.budget.name: budget "paymnets" is not registered (the program registers "payments"); did you mean "payments"?
}

func ExampleDiff() {
	old := policy.DefaultPolicyFor(policy.ParseKey("payments.Charge"))
	next := old
	next.Retry.MaxAttempts = 5
	next.Retry.OverallTimeout = 2 * time.Second
	for _, c := range policy.Diff(old, next) {
		fmt.Printf("%s: %s -> %s\n", c.Path, c.Old, c.New)
	}
	// Output:
	// retry.max_attempts: 3 -> 5
	// retry.overall_timeout: none -> 2s
}
