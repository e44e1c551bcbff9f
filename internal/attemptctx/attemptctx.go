// Package attemptctx holds the context that carries an attempt's
// observe.AttemptInfo (the type parameter I: observe imports this package,
// so this one cannot name the type), and the way a call's own context
// lends the executor room for its first attempt's.
package attemptctx

import (
	"context"

	"github.com/aponysus/rego/internal/ctxkey"
)

// Ctx is a context.WithValue specialised for an attempt's info: one
// allocation (or none, inside a Host) and no boxing of the info. Its
// Value answers ctxkey.Attempt with a *I.
type Ctx[I any] struct {
	context.Context
	Info I
}

// AfterFunc lets contexts derived from an attempt's end with it the way
// its parent ends them: the executor's contexts on a virtual clock end
// theirs synchronously, as the clock reaches their deadline; the context
// package's own run f through context.AfterFunc.
func (c *Ctx[I]) AfterFunc(f func()) func() bool {
	if a, ok := c.Context.(interface{ AfterFunc(func()) func() bool }); ok {
		return a.AfterFunc(f)
	}
	return context.AfterFunc(c.Context, f)
}

func (c *Ctx[I]) Value(key any) any {
	if _, ok := key.(ctxkey.Attempt); ok {
		return &c.Info // a pointer: boxing the info would allocate
	}
	return c.Context.Value(key)
}

// Host is a call's context that has room for its first attempt's
// context in its own allocation (an integration's per-call state, made
// anyway): the executor, given a Host as the context of a call, uses
// that room for the call's first attempt instead of allocating. It
// asks once per call, so a Host must be the context of one call only.
// (Only packages of this module can name the result type, so no other
// context is taken for a Host by accident.)
type Host[I any] interface {
	context.Context
	FirstAttempt() *Ctx[I]
}
