// Package doctest keeps code shown in the docs true: a test names a Go
// snippet of a Markdown file and the source file that runs it, and fails
// when the snippet is not, to the letter, part of that source.
package doctest

import (
	"os"
	"strings"
	"testing"
)

// Snippet checks that the first Go code block after the text marker in
// the Markdown file doc stands, as it is, in the Go file src, and that it
// is at least minLen bytes long (so that an emptied block cannot pass).
// It fails t, naming the files, when either cannot be read, when doc has
// no such block, or when src does not hold it.
func Snippet(t testing.TB, doc, marker, src string, minLen int) {
	t.Helper()
	text, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	code, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(text), marker)
	if !ok {
		t.Fatalf("%s has no %q", doc, marker)
	}
	_, block, ok = strings.Cut(block, "```go\n")
	if !ok {
		t.Fatalf("%s has no Go snippet after %q", doc, marker)
	}
	block, _, _ = strings.Cut(block, "```")
	if len(block) < minLen || !strings.Contains(string(code), block) {
		t.Fatalf("the snippet in %s after %q is not code of %s:\n%s", doc, marker, src, block)
	}
}
