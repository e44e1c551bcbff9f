package slogobs_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The tests run real executors; none may leave a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
