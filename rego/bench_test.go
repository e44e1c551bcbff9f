package rego_test

import (
	"context"
	"testing"

	"github.com/aponysus/rego/rego"
)

// The facade's cost over the executor: parsing the string key and loading
// the default executor. docs/performance.md has the numbers.

func BenchmarkFacadeSuccess(b *testing.B) {
	ctx := context.Background()
	op := func(context.Context) error { return nil }
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := rego.Do(ctx, "payments.Charge", op); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFacadeDoValue(b *testing.B) {
	ctx := context.Background()
	op := func(context.Context) (User, error) { return User{ID: "1"}, nil }
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := rego.DoValue[User](ctx, "user-service.GetUser", op); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFacadeTimeline(b *testing.B) {
	ctx := context.Background()
	op := func(context.Context) error { return nil }
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if tl, err := rego.DoWithTimeline(ctx, "payments.Charge", op); err != nil || len(tl.Attempts) != 1 {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseKey(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if k := rego.ParseKey("payments.Charge"); k.Name != "Charge" {
			b.Fatal(k)
		}
	}
}
