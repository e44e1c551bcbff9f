package regootel_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aponysus/rego/controlplane"
	regootel "github.com/aponysus/rego/integrations/otel"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func Example() {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) }()

	obs, err := regootel.New(regootel.Options{TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		fmt.Println(err)
		return
	}
	key := policy.ParseKey("inventory.Reserve")
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Observer: obs,
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
			key: {Retry: policy.RetryPolicy{MaxAttempts: 3, InitialBackoff: 100 * time.Millisecond, Jitter: policy.JitterNone}},
		}},
		Clock: regotest.NewAutoClock(time.Time{}), // waits cost no real time
	})

	// The call span becomes a child of the span in ctx.
	ctx, parent := tp.Tracer("example").Start(context.Background(), "handle request")
	calls := 0
	_ = exec.Do(ctx, key, func(context.Context) error {
		if calls++; calls < 2 {
			return errors.New("unavailable")
		}
		return nil
	})
	parent.End()

	call := spans.Ended()[0]
	fmt.Printf("%s (child of %q), %v\n", call.Name(), spans.Ended()[1].Name(), call.EndTime().Sub(call.StartTime()))
	for _, ev := range call.Events() {
		for _, kv := range ev.Attributes {
			if kv.Key == regootel.AttrAttempt || kv.Key == regootel.AttrOutcome || kv.Key == regootel.AttrBackoffMS {
				fmt.Printf(" %s=%s", kv.Key, kv.Value.Emit())
			}
		}
		fmt.Println()
	}
	// Output:
	// rego inventory.Reserve (child of "handle request"), 100ms
	//  rego.attempt=0 rego.outcome=retryable rego.attempt.backoff_ms=0
	//  rego.attempt=1 rego.outcome=success rego.attempt.backoff_ms=100
}
