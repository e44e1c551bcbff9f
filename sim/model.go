package sim

import (
	"math"
	"math/rand"
	"time"
)

// Latency is a model of how long a server takes to answer.
type Latency interface {
	// Sample draws one latency; it must not be negative.
	Sample(r *rand.Rand) time.Duration
}

// Constant is a fixed latency.
type Constant time.Duration

// Sample returns the constant.
func (c Constant) Sample(*rand.Rand) time.Duration { return nonNeg(time.Duration(c)) }

// Normal is a normally distributed latency, truncated at zero.
type Normal struct {
	Mean, SD time.Duration
}

// Sample draws from the normal distribution.
func (n Normal) Sample(r *rand.Rand) time.Duration {
	return nonNeg(n.Mean + time.Duration(r.NormFloat64()*float64(n.SD)))
}

// Exponential is an exponentially distributed latency.
type Exponential struct {
	Mean time.Duration
}

// Sample draws from the exponential distribution.
func (e Exponential) Sample(r *rand.Rand) time.Duration {
	return nonNeg(time.Duration(r.ExpFloat64() * float64(e.Mean)))
}

// LogNormal is a heavy-tailed latency: exp(N(ln Median, Sigma^2)).
type LogNormal struct {
	Median time.Duration
	Sigma  float64
}

// Sample draws from the log-normal distribution.
func (l LogNormal) Sample(r *rand.Rand) time.Duration {
	return nonNeg(time.Duration(float64(l.Median) * math.Exp(l.Sigma*r.NormFloat64())))
}

func nonNeg(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	return d
}

// Reply is what a server answers to one attempt.
type Reply int

// The replies.
const (
	// ReplyOK is a success.
	ReplyOK Reply = iota
	// ReplyRetryable is a failure worth retrying (overload, unavailable).
	ReplyRetryable
	// ReplyNonRetryable is a failure the client must not retry (a bad
	// request); the backend did process it.
	ReplyNonRetryable
)

func (r Reply) String() string {
	switch r {
	case ReplyOK:
		return "ok"
	case ReplyRetryable:
		return "retryable"
	case ReplyNonRetryable:
		return "non_retryable"
	}
	return "unknown"
}

// Failure is a model of which attempts a server fails.
type Failure interface {
	// Reply decides the answer to an attempt arriving at elapsed (virtual
	// time since Epoch).
	Reply(elapsed time.Duration, r *rand.Rand) Reply
}

// FailureRate fails each attempt independently with this probability,
// with a retryable error. 0 never fails, 1 is a total outage.
type FailureRate float64

// Reply draws the attempt's fate. It draws one number whatever the rate,
// so that runs differing only in the rate see the same random stream.
func (f FailureRate) Reply(_ time.Duration, r *rand.Rand) Reply {
	if r.Float64() < float64(f) {
		return ReplyRetryable
	}
	return ReplyOK
}

// Outage fails every attempt arriving in [From, To) with a retryable
// error and defers to Else otherwise (nil: succeed).
type Outage struct {
	From, To time.Duration
	Else     Failure
}

// Reply fails during the outage.
func (o Outage) Reply(elapsed time.Duration, r *rand.Rand) Reply {
	if elapsed >= o.From && elapsed < o.To {
		return ReplyRetryable
	}
	if o.Else == nil {
		return ReplyOK
	}
	return o.Else.Reply(elapsed, r)
}
