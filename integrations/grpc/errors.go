package regogrpc

import (
	"context"
	"errors"
	"time"

	"github.com/aponysus/rego/retry"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// callError turns the error that ended a call into what a gRPC caller
// expects. A call ended by its context (the caller's, or the policy's
// overall timeout) reports codes.Canceled or codes.DeadlineExceeded, as
// gRPC does, with the last attempt's error in the message. A call the
// executor stopped because its next wait would end at or after the call's
// deadline (retry.ErrDeadline) reports codes.DeadlineExceeded too, with the
// last attempt's status in the message: grpc-go would wait until the
// deadline ended the call with that code. The call's deadline is the
// executor's, the earlier of the caller's and the policy's OverallTimeout:
// either ending the call already reports DEADLINE_EXCEEDED. Otherwise a call
// that failed on its attempt's status returns that status error as gRPC
// produced it, without the marks the interceptor put on it or anything the
// executor wrapped around it. Errors of rego itself (a budget denial
// before any attempt, a missing policy under FailureDeny) are returned as
// they are, for errors.As.
func callError(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, unmark(err).Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, unmark(err).Error())
	case errors.Is(err, retry.ErrDeadline):
		return backoffDeadlineError(unmark(err))
	}
	return unmark(err)
}

// outlastsDeadline reports whether a wait of d from now ends at or after
// the caller's deadline, so that the next attempt could not start in time.
func outlastsDeadline(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Add(d).Before(dl)
}

// pushbackDeadlineError is the error of a call whose server asked for a
// wait (pushback) that would end after the caller's deadline. grpc-go
// waits out such a pushback until the deadline ends the call with
// DEADLINE_EXCEEDED; the interceptor reports the same code at once, since
// no further attempt could start in time, with the last attempt's status
// in the message.
func pushbackDeadlineError(last error) error {
	return status.Error(codes.DeadlineExceeded, "regogrpc: the server's pushback ends after the call's deadline; last attempt: "+last.Error())
}

// backoffDeadlineError is the error of a call whose next wait would end at
// or after the call's deadline, so that no further attempt could start in
// time (retry.ErrDeadline).
func backoffDeadlineError(last error) error {
	return status.Error(codes.DeadlineExceeded, "regogrpc: the wait before the next attempt ends after the call's deadline; last attempt: "+last.Error())
}
