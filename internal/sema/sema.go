// Package sema holds the counting semaphore behind the bulkhead and the
// adaptive concurrency limit: a limit that may change at any time, a count
// of holders, and a bounded FIFO queue of waiters whose wait runs on an
// injected clock and ends with the caller's context.
package sema

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/aponysus/rego/clock"
)

// ErrTimeout is the cause Wait returns when its maximum wait passed.
var ErrTimeout = errors.New("sema: wait timed out")

// Sema is a counting semaphore. Callers hold Mu around the methods whose
// names end in Locked, so that they can read and change their own state
// (a configuration, a limit estimate) under the same lock. The zero value
// has a limit of zero.
type Sema struct {
	Mu       sync.Mutex
	limit    int
	inflight int
	queue    []*Waiter
}

// Waiter is a place in the queue.
type Waiter struct {
	ch      chan struct{}
	granted bool
}

// TryLocked takes a slot if one is free and nobody waits (first come,
// first served).
func (s *Sema) TryLocked() bool {
	if s.inflight < s.limit && len(s.queue) == 0 {
		s.inflight++
		return true
	}
	return false
}

// InflightLocked returns how many slots are held.
func (s *Sema) InflightLocked() int { return s.inflight }

// QueuedLocked returns how many callers wait.
func (s *Sema) QueuedLocked() int { return len(s.queue) }

// LimitLocked returns the limit.
func (s *Sema) LimitLocked() int { return s.limit }

// SetLimitLocked changes the limit and hands freed slots to waiters.
func (s *Sema) SetLimitLocked(n int) {
	s.limit = n
	s.grantLocked()
}

// EnqueueLocked adds a waiter at the back of the queue; the caller then
// unlocks Mu and calls Wait.
func (s *Sema) EnqueueLocked() *Waiter {
	w := &Waiter{ch: make(chan struct{})}
	s.queue = append(s.queue, w)
	return w
}

// ReleaseLocked gives a slot back, handing it to the first waiter.
func (s *Sema) ReleaseLocked() {
	s.inflight--
	s.grantLocked()
}

// Release locks Mu and gives a slot back.
func (s *Sema) Release() {
	s.Mu.Lock()
	s.ReleaseLocked()
	s.Mu.Unlock()
}

func (s *Sema) grantLocked() {
	for len(s.queue) > 0 && s.inflight < s.limit {
		w := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.inflight++
		w.granted = true
		close(w.ch)
	}
	if len(s.queue) == 0 {
		s.queue = s.queue[:0:0]
	}
}

// Outcome is how Acquire ended.
type Outcome int

// The outcomes.
const (
	Admitted  Outcome = iota // a slot at once
	Queued                   // a slot after waiting
	Full                     // no slot and no wait allowed
	QueueFull                // the queue was full
	TimedOut                 // the wait passed its maximum
	Cancelled                // the context ended during the wait
)

// AcquireLocked takes a slot, waiting up to maxWait on clk (nil means
// clock.Real) behind at most maxQueue other waiters, and never past ctx.
// The caller holds Mu; AcquireLocked releases it. waited is how long it
// waited; err is ctx.Err() when the outcome is Cancelled.
func (s *Sema) AcquireLocked(ctx context.Context, clk clock.Clock, maxWait time.Duration, maxQueue int) (o Outcome, waited time.Duration, err error) {
	if s.TryLocked() {
		s.Mu.Unlock()
		return Admitted, 0, nil
	}
	if maxWait <= 0 {
		s.Mu.Unlock()
		return Full, 0, nil
	}
	if len(s.queue) >= maxQueue {
		s.Mu.Unlock()
		return QueueFull, 0, nil
	}
	w := s.EnqueueLocked()
	s.Mu.Unlock()
	if clk == nil {
		clk = clock.Real{}
	}
	start := clk.Now()
	err = s.Wait(ctx, clk, maxWait, w)
	waited = clk.Now().Sub(start)
	switch {
	case err == nil:
		return Queued, waited, nil
	case err == ErrTimeout:
		return TimedOut, waited, nil
	}
	return Cancelled, waited, err
}

// Wait waits, without holding Mu, until w gets a slot (nil), d passes on
// clk (ErrTimeout), or ctx ends (ctx.Err()). A slot granted while the wait
// ended another way is kept when the wait timed out, and given back when
// ctx ended, so no slot is ever lost.
func (s *Sema) Wait(ctx context.Context, clk clock.Clock, d time.Duration, w *Waiter) error {
	t := clk.NewTimer(d)
	var cause error
	select {
	case <-w.ch:
		t.Stop()
		return nil
	case <-t.C():
		cause = ErrTimeout
	case <-ctx.Done():
		t.Stop()
		cause = ctx.Err()
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	if w.granted {
		if cause == ErrTimeout {
			return nil
		}
		s.ReleaseLocked()
		return cause
	}
	for i, x := range s.queue {
		if x == w {
			copy(s.queue[i:], s.queue[i+1:])
			s.queue[len(s.queue)-1] = nil
			s.queue = s.queue[:len(s.queue)-1]
			break
		}
	}
	return cause
}
