package sim

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aponysus/rego/classify"
)

// Errors a simulated attempt ends with. A call ends with what the executor
// returns for its attempts (see Result.Err).
var (
	// ErrRetryable is the error of an attempt the server answered
	// ReplyRetryable (a failure, or a request it shed).
	ErrRetryable = errors.New("sim: retryable failure")
	// ErrNonRetryable is the error of an attempt the server answered
	// ReplyNonRetryable.
	ErrNonRetryable = errors.New("sim: non-retryable failure")
	// ErrTimeout is matched by the error of an attempt that its context's
	// deadline ended before the server answered (a per-attempt timeout or
	// the call's overall timeout, whichever came first); the error also
	// matches context.DeadlineExceeded, as an operation honouring its
	// context returns.
	ErrTimeout = errors.New("sim: attempt timed out")
	// ErrDeadline is no longer returned: a call its overall timeout ends
	// fails as the executor's does, with its last attempt's error
	// (matching ErrTimeout and context.DeadlineExceeded when the deadline
	// cut the attempt short) and the stop reason retry.StopContextDone in
	// Result.Timeline.
	//
	// Deprecated: match context.DeadlineExceeded and the timeline's stop
	// reason instead.
	ErrDeadline = errors.New("sim: call deadline exceeded")
	// ErrInvalidClient is wrapped by every error NewClient returns for a
	// bad ClientConfig.
	ErrInvalidClient = errors.New("sim: invalid client")
)

// Answer is a server's answer to one attempt: the value of a simulated
// attempt (the T of retry.Call[Answer]), which a classifier sees.
type Answer struct {
	Reply Reply
	// RetryAfter is the hint a failure carries, as an HTTP 503's
	// Retry-After header or a gRPC pushback: Classifier turns it into the
	// outcome's BackoffOverride. Zero means none.
	RetryAfter time.Duration
}

// Err returns the error of an attempt answered a: nil for ReplyOK,
// ErrNonRetryable for ReplyNonRetryable, ErrRetryable otherwise.
func (a Answer) Err() error {
	switch a.Reply {
	case ReplyOK:
		return nil
	case ReplyNonRetryable:
		return ErrNonRetryable
	}
	return ErrRetryable
}

// TimeoutErr returns the error of an attempt whose context ended before
// the server answered: it matches ErrTimeout and ctxErr
// (context.DeadlineExceeded when nil).
func TimeoutErr(ctxErr error) error {
	if ctxErr == nil {
		ctxErr = context.DeadlineExceeded
	}
	return fmt.Errorf("%w: %w", ErrTimeout, ctxErr)
}

// Classifier judges simulated attempts when neither the policy nor
// ClientConfig.Classifier names another: ErrNonRetryable is non-retryable
// (reason "non_retryable"), ErrRetryable retryable (reason "retryable");
// every other error is judged by classify.ClassifyError (an attempt's
// timeout is retryable, reason "timeout"); a retryable failure whose
// Answer carries a RetryAfter gets it as its BackoffOverride (reason
// "retry_after").
var Classifier classify.Classifier = classify.Func(classifyAnswer)

func classifyAnswer(v any, err error) classify.Outcome {
	if errors.Is(err, ErrNonRetryable) {
		return classify.Outcome{Kind: classify.OutcomeNonRetryable, Reason: "non_retryable"}
	}
	out := classify.ClassifyError(err)
	if errors.Is(err, ErrRetryable) {
		out.Reason = "retryable"
	}
	if a, ok := v.(Answer); ok && a.RetryAfter > 0 && out.Kind == classify.OutcomeRetryable {
		out.Reason, out.BackoffOverride = "retry_after", a.RetryAfter
	}
	return out
}

// Backend is what a Client sends attempts to: a *Server or a
// *QueueServer.
type Backend interface {
	// Serve receives an attempt now, made with ctx, the attempt's context
	// (its values are the request's: the call's gate.Criticality, and the
	// attempt's observe.AttemptInfo, which says whether it is a hedge),
	// and calls reply once with the answer when it is ready. It is called
	// in the event loop. The call cancels ctx when it stops waiting for
	// the attempt (a losing hedge, an attempt past its deadline), but no
	// event tells the backend: it models a server that finishes the work
	// of a caller who has left, and the answer is then discarded.
	Serve(ctx context.Context, reply func(Answer))
}
