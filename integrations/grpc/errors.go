package regogrpc

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aponysus/rego/retry"
)

// callError turns the error that ended a call into what a gRPC caller
// expects. The marks the interceptor put on attempt errors are removed, so
// a call that failed on its attempt's status returns that status error as
// gRPC produced it. A call ended by its context (the caller's, or the
// policy's overall timeout) reports codes.Canceled or
// codes.DeadlineExceeded, as gRPC does, with the last attempt's error in the
// message. Errors of rego itself (a budget denial before any attempt, a
// missing policy under FailureDeny) are returned as they are, for errors.As.
func callError(err error) error {
	if err == nil {
		return nil
	}
	if se := (*retry.StopError)(nil); errors.As(err, &se) {
		err = se.Err // the last attempt's status, as gRPC produced it
	}
	err = unmark(err)
	if _, ok := err.(interface{ GRPCStatus() *status.Status }); ok {
		return err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	return err
}
