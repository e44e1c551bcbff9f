package regoetcd_test

import (
	"os"
	"strings"
	"testing"

	"github.com/aponysus/rego/controlplane"
	regoetcd "github.com/aponysus/rego/integrations/etcd"
	"github.com/aponysus/rego/retry"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// fleetDocSnippet is the etcd snippet of docs/fleet.md, verbatim but for
// the function around it, so that the page keeps compiling.
func fleetDocSnippet() error {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"etcd-1:2379", "etcd-2:2379", "etcd-3:2379"}})
	if err != nil {
		return err
	}
	defer cli.Close()
	provider, err := regoetcd.NewProvider(
		regoetcd.Options{Client: cli, Key: "/rego/policies/payments"},
		controlplane.SourceOptions{CacheFile: "/var/cache/rego/payments.json"},
	)
	if err != nil {
		return err
	}
	defer provider.Close() // before the client
	exec := retry.NewExecutor(retry.ExecutorOptions{Provider: provider})
	_ = exec
	return nil
}

var _ = fleetDocSnippet

// TestFleetDocSnippet checks that docs/fleet.md shows the code above.
func TestFleetDocSnippet(t *testing.T) {
	page, err := os.ReadFile("../../docs/fleet.md")
	if os.IsNotExist(err) && testing.Short() {
		// A consumer's copy of the module (the release dry run tests it
		// with -short) has no docs/ beside it.
		t.Skip("docs/fleet.md is not beside this copy of the module")
	}
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	const open = "## Policies in etcd\n\n```go\n"
	i := strings.Index(string(page), open)
	if i < 0 {
		t.Fatal("docs/fleet.md has no etcd snippet")
	}
	block := string(page[i+len(open):])
	block = block[:strings.Index(block, "```")]
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		if !strings.Contains(string(src), "\t"+line+"\n") {
			t.Errorf("docs/fleet.md line not in the mirrored snippet: %q", line)
		}
	}
}
