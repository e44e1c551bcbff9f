package sema

import (
	"fmt"
	"time"

	"github.com/aponysus/rego/gate"
)

// Answers turns the outcomes of AcquireLocked into a gate's answers: the
// permit of an admission, or the refusal of one of the gate's reasons.
// The refusals that carry nothing of their own are built once, so that a
// refusal costs no allocation.
type Answers struct {
	gate, fullReason string
	sentinel         error
	full, queueFull  *gate.RefusedError
	timeout          *gate.RefusedError
}

// The reasons every semaphore gate shares.
const (
	ReasonAdmitted    = "admitted"
	ReasonQueued      = "queued"
	ReasonQueueFull   = "queue_full"
	ReasonWaitTimeout = "wait_timeout"
	ReasonCancelled   = "cancelled"
)

// NewAnswers returns the answers of the gate named name, whose refusal
// with no wait allowed says fullReason, and whose refusals all match
// sentinel.
func NewAnswers(name, fullReason string, sentinel error) *Answers {
	ref := func(reason string) *gate.RefusedError {
		return &gate.RefusedError{Gate: name, Reason: reason, Err: sentinel}
	}
	return &Answers{
		gate: name, fullReason: fullReason, sentinel: sentinel,
		full: ref(fullReason), queueFull: ref(ReasonQueueFull), timeout: ref(ReasonWaitTimeout),
	}
}

// Admitted is the permit of an admission without a wait.
func (a *Answers) Admitted(c gate.Completer) gate.Permit {
	return gate.Permit{Reason: ReasonAdmitted, Completer: c}
}

// Answer turns what AcquireLocked returned into the gate's answer; c
// completes admitted permits.
func (a *Answers) Answer(o Outcome, waited time.Duration, err error, c gate.Completer) (gate.Permit, error) {
	switch o {
	case Admitted:
		return a.Admitted(c), nil
	case Queued:
		return gate.Permit{Reason: ReasonQueued, Completer: c, Waited: waited}, nil
	case Full:
		return gate.Permit{Reason: a.fullReason}, a.full
	case QueueFull:
		return gate.Permit{Reason: ReasonQueueFull}, a.queueFull
	case TimedOut:
		return gate.Permit{Reason: ReasonWaitTimeout, Waited: waited}, a.timeout
	}
	return gate.Permit{Reason: ReasonCancelled, Waited: waited}, &gate.RefusedError{
		Gate: a.gate, Reason: ReasonCancelled, Err: fmt.Errorf("%w: %w", a.sentinel, err),
	}
}
