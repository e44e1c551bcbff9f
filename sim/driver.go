package sim

import (
	"github.com/aponysus/rego/gate"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/retry"
)

// call drives one retry.Call on the event queue: the executor's decision
// core decides, and the simulation supplies the events it waits for (an
// attempt's end, a backoff's end, the hedge timer).
type call struct {
	c        *Client
	k        *retry.Call[Answer]
	res      Result
	hedge    *Event // the armed hedge timer, if any
	launched []int  // the attempt indices sent to the server
	over     bool   // StepDone came
	done     func(Result)
}

// advance takes the steps the call asks for until it must wait for an
// event.
func (k *call) advance() {
	for {
		st := k.k.Next()
		if st.Kind != retry.StepAwait {
			k.stopHedge()
		}
		switch st.Kind {
		case retry.StepLaunch:
			k.launch(st)
			k.k.Launched()
		case retry.StepSleep:
			k.res.Waited += st.Wait
			k.c.s.After(st.Wait, func() {
				k.k.Woke()
				k.advance()
			})
			return
		case retry.StepAwait:
			switch st.Hedge {
			case retry.HedgeArm:
				k.stopHedge()
				k.hedge = k.c.s.After(st.Wait, func() {
					k.hedge = nil
					k.k.HedgeDue()
					k.advance()
				})
			case retry.HedgeStop:
				k.stopHedge()
			}
			return
		default: // retry.StepDone
			k.finish()
			return
		}
	}
}

func (k *call) stopHedge() {
	if k.hedge != nil {
		k.hedge.Cancel()
		k.hedge = nil
	}
}

// launch sends attempt st.Attempt to the server. It ends at the first of
// the server's answer and its context's deadline (as an operation
// honouring its context does); the deadline's event is scheduled before
// the server sees the attempt, so that a tie goes to the deadline, as it
// does for an operation whose context's timer fires first.
func (k *call) launch(st retry.Step) {
	k.launched = append(k.launched, st.Attempt)
	k.c.st.Attempts++
	a := &attempt{k: k, n: st.Attempt}
	if dl, ok := st.Ctx.Deadline(); ok {
		ctx := st.Ctx
		a.timer = k.c.s.At(dl, func() { a.end(Answer{}, TimeoutErr(ctx.Err())) })
	}
	k.c.srv.Serve(st.Ctx, func(ans Answer) { a.end(ans, ans.Err()) })
}

// attempt is one attempt in flight.
type attempt struct {
	k     *call
	n     int
	timer *Event
	ended bool
}

// end reports the attempt's end, once; results of attempts the call
// cancelled, even after it ended, go to the core too (it discards them).
func (a *attempt) end(ans Answer, err error) {
	if a.ended {
		return
	}
	a.ended = true
	if a.timer != nil {
		a.timer.Cancel()
	}
	a.k.k.Result(a.n, ans, err)
	if !a.k.over {
		a.k.advance()
	}
}

// refusals counts the refused attempts of recs by the gate that refused.
func (k *call) refusals(recs []observe.AttemptRecord) {
	for i := range recs {
		d, ok := recs[i].Refusal()
		if !ok || k.sent(i) {
			continue
		}
		switch d.Gate {
		case gate.NameBudget:
			k.c.st.BudgetRefusals++
		case gate.NameCircuit:
			k.c.st.CircuitRefusals++
		}
	}
}

func (k *call) sent(i int) bool {
	for _, j := range k.launched {
		if j == i {
			return true
		}
	}
	return false
}

// finish takes the call's outcome and counts it.
func (k *call) finish() {
	k.over = true
	c := k.c
	v, tl, err := k.k.Outcome()
	k.res.End = c.s.Now()
	k.res.Value, k.res.Err, k.res.Timeline = v, err, tl
	k.res.Attempts = len(k.launched)
	first := true
	for _, i := range k.launched {
		switch {
		case i < len(tl.Attempts) && tl.Attempts[i].IsHedge:
			k.res.Hedges++
		case first:
			first = false
		default:
			c.st.Retries++
		}
	}
	c.st.Hedges += int64(k.res.Hedges)
	if refused := len(tl.Attempts) - len(k.launched); refused > 0 {
		c.st.Rejections += int64(refused)
		k.refusals(tl.Attempts)
	}
	switch tl.Attributes[observe.AttrStopReason] {
	case retry.StopBudgetDenied, retry.StopCircuitOpen, retry.StopGateRefused:
		k.res.Denied = true
	}
	c.st.Done++
	switch {
	case err == nil:
		c.st.Succeeded++
	case k.res.Denied && k.res.Attempts == 0:
		c.st.Denied++
	default:
		c.st.Failed++
	}
	if k.done != nil {
		k.done(k.res)
	}
}
