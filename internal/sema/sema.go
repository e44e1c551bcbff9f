// Package sema holds the counting semaphore behind the bulkhead and the
// adaptive concurrency limit: a limit that may change at any time, a count
// of holders, and a bounded FIFO queue of waiters whose wait runs on an
// injected clock and ends with the caller's context.
//
// Taking a free slot while nobody waits (TryAcquire) and giving one back
// while nobody waits (Release) are lock-free; the queue is kept under Mu.
package sema

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
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
	limit    atomic.Int64
	inflight atomic.Int64
	// waiting mirrors len(queue), so that the lock-free paths can tell
	// whether anyone waits.
	waiting atomic.Int64
	queue   []*Waiter
}

// Waiter is a place in the queue.
type Waiter struct {
	ch      chan struct{}
	granted bool
}

// take takes a slot if one is free.
func (s *Sema) take() bool {
	for {
		n := s.inflight.Load()
		if n >= s.limit.Load() {
			return false
		}
		if s.inflight.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// TryAcquire takes a free slot, without a lock, when nobody waits (first
// come, first served).
func (s *Sema) TryAcquire() bool {
	return s.waiting.Load() == 0 && s.take()
}

// Release gives a slot back; when someone waits, it hands the slot over
// under Mu.
func (s *Sema) Release() {
	s.inflight.Add(-1)
	// A waiter publishes itself in waiting before it checks for a free
	// slot, and this checks waiting after freeing one: one of the two sees
	// the other, so no slot is left unused while someone waits.
	if s.waiting.Load() > 0 {
		s.Mu.Lock()
		s.grantLocked()
		s.Mu.Unlock()
	}
}

// ReleaseLocked is Release for a caller holding Mu.
func (s *Sema) ReleaseLocked() {
	s.inflight.Add(-1)
	s.grantLocked()
}

// Inflight returns how many slots are held.
func (s *Sema) Inflight() int { return int(s.inflight.Load()) }

// Limit returns the limit.
func (s *Sema) Limit() int { return int(s.limit.Load()) }

// QueuedLocked returns how many callers wait.
func (s *Sema) QueuedLocked() int { return len(s.queue) }

// SetLimitLocked changes the limit and hands freed slots to waiters.
func (s *Sema) SetLimitLocked(n int) {
	s.limit.Store(int64(n))
	s.grantLocked()
}

func (s *Sema) grantLocked() {
	for len(s.queue) > 0 && s.take() {
		w := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		w.granted = true
		close(w.ch)
	}
	if len(s.queue) == 0 {
		s.queue = s.queue[:0:0]
	}
	s.waiting.Store(int64(len(s.queue)))
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
	if len(s.queue) == 0 && s.take() {
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
	w := &Waiter{ch: make(chan struct{})}
	s.queue = append(s.queue, w)
	// Published in waiting, then a last look for a slot freed meanwhile.
	s.grantLocked()
	if w.granted {
		s.Mu.Unlock()
		return Admitted, 0, nil
	}
	s.Mu.Unlock()
	if clk == nil {
		clk = clock.Real{}
	}
	start := clk.Now()
	err = s.wait(ctx, clk, maxWait, w)
	waited = clk.Now().Sub(start)
	switch {
	case err == nil:
		return Queued, waited, nil
	case err == ErrTimeout:
		return TimedOut, waited, nil
	}
	return Cancelled, waited, err
}

// wait waits, without holding Mu, until w gets a slot (nil), d passes on
// clk (ErrTimeout), or ctx ends (ctx.Err()). A slot granted while the wait
// ended another way is kept when the wait timed out, and given back when
// ctx ended, so no slot is ever lost.
func (s *Sema) wait(ctx context.Context, clk clock.Clock, d time.Duration, w *Waiter) error {
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
	s.waiting.Store(int64(len(s.queue)))
	return cause
}
