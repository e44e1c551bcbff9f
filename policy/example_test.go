package policy_test

import (
	"encoding/json"
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
