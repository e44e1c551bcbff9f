package rego_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/aponysus/rego/rego"
	"github.com/aponysus/rego/retry"
)

func ExampleDoValue() {
	user, err := rego.DoValue[User](context.Background(), "user-service.GetUser", func(ctx context.Context) (User, error) {
		return User{ID: "123"}, nil
	})
	fmt.Println(user.ID, err)
	// Output: 123 <nil>
}

func ExampleDoWithTimeline() {
	rego.Init(retry.NewExecutor(retry.ExecutorOptions{Clock: noSleep{}}))
	defer rego.Init(nil)

	calls := 0
	tl, err := rego.DoWithTimeline(context.Background(), "payments.Charge", func(ctx context.Context) error {
		calls++
		if calls < 3 {
			return errors.New("connection reset")
		}
		return nil
	})
	fmt.Println("err:", err)
	fmt.Println("policy_source:", tl.Attributes["policy_source"])
	for _, a := range tl.Attempts {
		fmt.Printf("attempt %d: %s %v\n", a.Attempt, a.Outcome.Kind, a.Err)
	}
	// Output:
	// err: <nil>
	// policy_source: default
	// attempt 0: retryable connection reset
	// attempt 1: retryable connection reset
	// attempt 2: success <nil>
}
