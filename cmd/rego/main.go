// Command rego checks policy documents, shows what a new document changes,
// and shows on the simulator what a policy does to a dependency
// before it ships.
//
//	rego validate [-strict] [-budgets a,b] [-gates c] policies.json ...
//	rego diff [-deadline 2s] old.json new.json
//	rego simulate -doc policies.json -key payments.Charge -outage 30s -budget ratio
//	rego simulate -doc old.json -compare new.json -key payments.Charge -outage 30s
//	rego schema > docs/policy.schema.json
//
// Every command takes -h (or --help) for its flags and exit statuses.
// validate exits 0 when every document loads (with -strict: and has no
// warning), 1 when one does not, 2 on a usage error. diff exits 0 when no
// change is risky, 1 when one is, 2 on a usage error or a document that
// does not load. simulate exits 0, 1 when a document cannot be used, 2 on
// a usage error (an unknown -key included).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aponysus/rego/policy"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: rego <command> [flags] [arguments]

commands:
  validate   check policy documents and list every problem
  diff       show what a new policy document changes, and which changes are risky
  simulate   run a key's policy on the simulator (or compare two documents)
  schema     print the JSON Schema of policy documents
  help       print this text

Run "rego <command> -h" for a command's flags and exit statuses.
`

// The exit statuses shared by the commands.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// run is the command with its arguments and outputs; it returns the exit
// status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "validate":
		return validate(args[1:], stdout, stderr)
	case "diff":
		return diff(args[1:], stdout, stderr)
	case "simulate":
		return simulate(args[1:], stdout, stderr)
	case "schema":
		return schema(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "rego: unknown command %q\n%s", args[0], usage)
	return exitUsage
}

// command is a subcommand's flag set and the text of its -h.
type command struct {
	name string
	fs   *flag.FlagSet
	// head is the usage line and description, tail what follows the
	// flags (exit statuses).
	head, tail string
}

func newCommand(name, head, tail string) *command {
	fs := flag.NewFlagSet("rego "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &command{name: name, fs: fs, head: head, tail: tail}
}

// printUsage writes the command's help.
func (c *command) printUsage(w io.Writer) {
	fmt.Fprint(w, c.head)
	fmt.Fprintln(w, "\nflags:")
	c.fs.SetOutput(w)
	c.fs.PrintDefaults()
	c.fs.SetOutput(io.Discard)
	if c.tail != "" {
		fmt.Fprint(w, "\n"+c.tail)
	}
}

// parse parses args, flags and arguments in any order (everything after
// "--" is an argument). ok is false when the command must stop with
// status code: -h, -help or --help anywhere prints the usage to stdout
// (status 0); a bad flag prints the error to stderr (status 2).
func (c *command) parse(args []string, stdout, stderr io.Writer) (pos []string, code int, ok bool) {
	var tail []string
	for i, a := range args {
		if a == "--" {
			args, tail = args[:i], args[i+1:]
			break
		}
	}
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			c.printUsage(stdout)
			return nil, exitOK, false
		}
	}
	for {
		if err := c.fs.Parse(args); err != nil {
			return nil, c.usageError(stderr, "%v", err), false
		}
		args = c.fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return append(pos, tail...), exitOK, true
}

// usageError prints a usage error and returns exitUsage.
func (c *command) usageError(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "rego %s: %s\nRun \"rego %s -h\" for usage.\n", c.name, fmt.Sprintf(format, args...), c.name)
	return exitUsage
}

// listFlag is a comma-separated list of names. Set records that the flag
// was given, so that an empty list ("-budgets ”") means "none" rather
// than "not checked".
type listFlag struct {
	names []string
	set   bool
}

func (l *listFlag) String() string { return strings.Join(l.names, ",") }

func (l *listFlag) Set(s string) error {
	l.set = true
	if l.names == nil {
		l.names = []string{}
	}
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			l.names = append(l.names, n)
		}
	}
	return nil
}

// list returns the names, or nil when the flag was not given.
func (l *listFlag) list() []string {
	if !l.set {
		return nil
	}
	return l.names
}

// loadDocument reads and decodes a policy document.
func loadDocument(file string, opts policy.DecodeOptions) (*policy.Document, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return opts.Decode(data)
}

// printProblems writes each problem of a failed decode, one a line.
func printProblems(w io.Writer, file string, err error) {
	var de *policy.DocumentError
	if errors.As(err, &de) {
		for _, p := range de.Problems {
			fmt.Fprintf(w, "%s: %s\n", file, p)
		}
		return
	}
	fmt.Fprintf(w, "%s: %v\n", file, err)
}

func schema(args []string, stdout, stderr io.Writer) int {
	c := newCommand("schema", `usage: rego schema

Prints the JSON Schema (draft 2020-12) of policy documents, generated from
the policy package's field table: the content of docs/policy.schema.json.
`, "")
	pos, code, ok := c.parse(args, stdout, stderr)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return c.usageError(stderr, "takes no arguments, got %q", pos)
	}
	stdout.Write(policy.JSONSchema())
	return exitOK
}
