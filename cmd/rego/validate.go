package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/aponysus/rego/policy"
)

const validateHead = `usage: rego validate [flags] FILE...

Checks policy documents (JSON) and prints every problem of each, with its
path: errors (the document cannot load) and warnings (a value was clamped
into range, a zero means a default, values that together are most likely
a mistake). docs/policies.md gives the rules.
`

const validateTail = `exit status:
  0  every document loads (with -strict: and has no warning)
  1  a document has an error (with -strict: or a warning), or cannot be read
  2  usage error
`

func validate(args []string, stdout, stderr io.Writer) int {
	c := newCommand("validate", validateHead, validateTail)
	strict := c.fs.Bool("strict", false, "fail on warnings too")
	var budgets, gates, classifiers, triggers listFlag
	c.fs.Var(&budgets, "budgets", "comma-separated `names` of the budgets the program registers; a document naming another is an error")
	c.fs.Var(&gates, "gates", "comma-separated `names` of the user gates the program registers")
	c.fs.Var(&classifiers, "classifiers", "comma-separated `names` of the classifiers the program registers")
	c.fs.Var(&triggers, "triggers", "comma-separated `names` of the hedge triggers the program registers besides the built-in ones")
	files, code, ok := c.parse(args, stdout, stderr)
	if !ok {
		return code
	}
	if len(files) == 0 {
		return c.usageError(stderr, "no files")
	}
	opts := policy.DecodeOptions{Budgets: budgets.list(), Gates: gates.list(), Classifiers: classifiers.list(), Triggers: triggers.list()}
	status := exitOK
	for _, f := range files {
		doc, err := loadDocument(f, opts)
		var de *policy.DocumentError
		switch {
		case errors.As(err, &de):
			printProblems(stdout, f, err)
			fmt.Fprintf(stdout, "%s: invalid: %s\n", f, count(len(de.Errors()), "error"))
			status = exitFail
		case err != nil:
			fmt.Fprintf(stderr, "%s: %v\n", f, err)
			status = exitFail
		default:
			for _, p := range doc.Warnings {
				fmt.Fprintf(stdout, "%s: %s\n", f, p)
			}
			def := "no default"
			if doc.Default != nil {
				def = "a default"
			}
			fmt.Fprintf(stdout, "%s: ok: version %q, %d policies, %s, %s\n", f, doc.Version, len(doc.Policies), def, count(len(doc.Warnings), "warning"))
			if *strict && len(doc.Warnings) > 0 {
				fmt.Fprintf(stdout, "%s: fails -strict: %s\n", f, count(len(doc.Warnings), "warning"))
				status = exitFail
			}
		}
	}
	return status
}

// count writes "1 warning", "2 warnings".
func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
