package budget_test

import (
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/regotest"
)

// ratioCase is a randomly drawn ratio budget configuration.
type ratioCase struct {
	opts    budget.RatioOptions
	width   time.Duration
	buckets int
	ratio   float64 // effective
	floor   float64 // effective, per window
}

func drawRatioCase(rng *rand.Rand) ratioCase {
	c := ratioCase{buckets: 1 + rng.Intn(12), width: time.Duration(1+rng.Intn(1000)) * time.Millisecond}
	c.ratio = []float64{0.05, 0.1, 0.2, 0.5, 1, 3}[rng.Intn(6)]
	perSec := []float64{-1, 0.5, 2, 10}[rng.Intn(4)]
	c.opts = budget.RatioOptions{Ratio: c.ratio, MinRetriesPerSecond: perSec, Window: c.width * time.Duration(c.buckets), Buckets: c.buckets}
	if perSec > 0 {
		c.floor = perSec * c.opts.Window.Seconds()
	}
	c.opts.Clock = regotest.NewClock(t0) // only fixes the epoch: the test passes times
	return c
}

// check verifies the budget's promise on per-bucket counts: whenever it
// allows a retry, the window it decides on (the Buckets buckets ending at
// the retry's) holds at most max(ratio*requests, floor) retry units, every
// retry allowed in that window, before or after, counted. Windows ending
// in a bucket with no retry are not bound: the requests of their first
// buckets may have expired while the retries those requests paid for have
// not (and the budget then allows nothing until the window is back under).
func (c ratioCase) check(t *testing.T, req, ret []int64) {
	t.Helper()
	for end := range req {
		if ret[end] == 0 {
			continue
		}
		var sq, sr int64
		for i := end - c.buckets + 1; i <= end; i++ {
			if i >= 0 {
				sq += req[i]
				sr += ret[i]
			}
		}
		limit := c.ratio * float64(sq)
		if limit < c.floor {
			limit = c.floor
		}
		if float64(sr) > limit+1e-9 {
			t.Fatalf("%+v: window ending at bucket %d holds %d retry units for %d requests: limit %.2f", c.opts, end, sr, sq, limit)
		}
	}
	// Requests and the retries they paid for leave the window together,
	// so without a floor the whole run stays within the ratio too.
	if c.floor == 0 {
		var tq, tr int64
		for i := range req {
			tq += req[i]
			tr += ret[i]
		}
		if float64(tr) > c.ratio*float64(tq)+1e-9 {
			t.Fatalf("%+v: %d retry units in all for %d requests", c.opts, tr, tq)
		}
	}
}

// TestRatioPropertySequential: pure, time-as-parameter calls at random
// non-decreasing times never exceed the limit in any window.
func TestRatioPropertySequential(t *testing.T) {
	var used int64
	for seed := int64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewSource(seed))
		c := drawRatioCase(rng)
		b, err := budget.NewRatioBudget(c.opts)
		if err != nil {
			t.Fatal(err)
		}
		const nb = 60
		req, ret := make([]int64, nb), make([]int64, nb)
		now := time.Duration(0)
		for op := 0; op < 3000; op++ {
			if rng.Intn(4) == 0 {
				now += time.Duration(rng.Int63n(int64(c.width)))
			}
			idx := int(now / c.width)
			if idx >= nb {
				break
			}
			at := t0.Add(now)
			if rng.Float64() < 0.7 {
				b.RecordRequestAt(at)
				req[idx]++
			} else if cost := 1 + rng.Intn(3); b.TakeRetryAt(at, cost) {
				ret[idx] += int64(cost)
				used += int64(cost)
			}
		}
		c.check(t, req, ret)
	}
	if used == 0 {
		t.Fatal("no retry was ever allowed: the property is vacuous")
	}
}

// TestRatioPropertyConcurrent: many goroutines racing on one budget, with
// time moving on between rounds, never get more than the limit in any
// window, however their calls interleave.
func TestRatioPropertyConcurrent(t *testing.T) {
	const goroutines, rounds, opsPer = 8, 40, 150
	var used int64
	for seed := int64(1); seed <= 12; seed++ {
		rng := rand.New(rand.NewSource(seed))
		c := drawRatioCase(rng)
		b, err := budget.NewRatioBudget(c.opts)
		if err != nil {
			t.Fatal(err)
		}
		nb := rounds * 3
		req, ret := make([]atomic.Int64, nb), make([]atomic.Int64, nb)
		idx := 0
		for round := 0; round < rounds; round++ {
			idx += rng.Intn(3) // sometimes stay, sometimes skip buckets
			base := time.Duration(idx) * c.width
			var wg sync.WaitGroup
			for g := 0; g < goroutines; g++ {
				grng := rand.New(rand.NewSource(rng.Int63()))
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					for op := 0; op < opsPer; op++ {
						at := t0.Add(base + time.Duration(grng.Int63n(int64(c.width))))
						if grng.Float64() < 0.6 {
							b.RecordRequestAt(at)
							req[i].Add(1)
						} else if cost := 1 + grng.Intn(2); b.TakeRetryAt(at, cost) {
							ret[i].Add(int64(cost))
						}
					}
				}(idx)
			}
			wg.Wait()
		}
		rq, rt := make([]int64, nb), make([]int64, nb)
		for i := range rq {
			rq[i], rt[i] = req[i].Load(), ret[i].Load()
			used += rt[i]
		}
		c.check(t, rq, rt)
	}
	if used == 0 {
		t.Fatal("no retry was ever allowed: the property is vacuous")
	}
}
