package benchmarks

import (
	"context"
	"time"

	retrygo "github.com/avast/retry-go/v4"
	goretry "github.com/sethvargo/go-retry"
)

// retryGoOptions configures retry-go for attempts attempts with no delay.
// LastErrorOnly spares it collecting every attempt's error, which rego
// does not do either.
func retryGoOptions(ctx context.Context, extra ...retrygo.Option) []retrygo.Option {
	return append([]retrygo.Option{
		retrygo.Context(ctx),
		retrygo.Attempts(attempts),
		retrygo.Delay(0),
		retrygo.DelayType(retrygo.FixedDelay),
		retrygo.LastErrorOnly(true),
	}, extra...)
}

// zeroBackoff is a go-retry backoff that never waits; it is stateless, so
// one serves every call.
var zeroBackoff = goretry.BackoffFunc(func() (time.Duration, bool) { return 0, false })

// goRetryBackoff returns a backoff allowing attempts attempts. go-retry
// backoffs that count are stateful, so its users build one per call; so
// does this benchmark.
func goRetryBackoff() goretry.Backoff {
	return goretry.WithMaxRetries(attempts-1, zeroBackoff)
}

// goRetryOp adapts f to go-retry, which retries only errors marked
// retryable.
func goRetryOp(f func() error) goretry.RetryFunc {
	return func(context.Context) error {
		if err := f(); err != nil {
			return goretry.RetryableError(err)
		}
		return nil
	}
}
