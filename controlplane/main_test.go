package controlplane_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// doc returns a document of the given version whose payments.Charge policy
// makes attempts attempts, so a lookup tells which version it saw.
func doc(version string, attempts int) string {
	return fmt.Sprintf(`{"version":%q,"default":{"retry":{"max_attempts":1}},`+
		`"policies":{"payments.Charge":{"retry":{"max_attempts":%d,"jitter":"none"}}}}`, version, attempts)
}

// writeFile writes data to path through a temporary file and a rename, the
// way editors and deploy tools replace configuration atomically.
func writeFile(t testing.TB, path, data string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
