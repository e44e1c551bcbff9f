package regoprom

import (
	"testing"

	"go.uber.org/goleak"
)

// The executor runs hedges on goroutines; none may outlive the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
