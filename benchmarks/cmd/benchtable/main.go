// Command benchtable turns benchstat's CSV output, produced with
// -col /lib from benchmarks named Scenario/lib=NAME, into Markdown tables:
// one per scenario, one row per library, with ns/op, B/op and allocs/op
// and each library's ratio to rego. It also writes a headline for the
// success path, checked against the goals of the benchmark issue.
//
// Usage:
//
//	benchstat -format csv -col /lib results.txt > results.csv
//	benchtable results.csv > tables.md
//
// A ratio above 1 means the library needs more than rego (rego is that
// many times faster, or allocates that many times less).
package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// baseline is the library every ratio is taken against.
const baseline = "rego"

// The units benchstat reports with -benchmem, and how the tables show them.
var units = []struct{ name, column string }{
	{"sec/op", "ns/op"},
	{"B/op", "B/op"},
	{"allocs/op", "allocs/op"},
}

// scenarioOrder lists the scenarios in the order the document presents
// them; others follow alphabetically.
var scenarioOrder = []string{
	"Success", "ThreeFailures", "AttemptTimeout", "Events",
	"BudgetParallel", "GRPCSuccess", "GRPCRetry",
}

// libOrder lists the libraries in the order the tables show them; others
// follow in order of appearance.
var libOrder = []string{
	baseline, "rego-timeline", "rego-interceptor", "failsafe-go", "backoff-v5", "retry-go",
	"go-retry", "grpc-builtin", "none",
}

// rank returns lib's place in libOrder, or len(libOrder) if it is not
// there.
func rank(lib string) int {
	for i, l := range libOrder {
		if l == lib {
			return i
		}
	}
	return len(libOrder)
}

// cell is one summarised measurement: benchstat's centre value and the
// width of its confidence interval ("3%", or "∞" for too few samples).
type cell struct {
	value float64
	ci    string
}

// table holds, for one scenario, the cells of every library by unit.
type table struct {
	libs  []string                   // in order of first appearance
	cells map[string]map[string]cell // lib -> unit -> cell
}

// results maps scenario names to their tables.
type results map[string]*table

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtable results.csv")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	defer f.Close()
	res, err := parse(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	if err := write(os.Stdout, res); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

// procsSuffix is the -GOMAXPROCS suffix go test appends to benchmark
// names.
var procsSuffix = regexp.MustCompile(`-\d+$`)

// parse reads benchstat CSV. The file is a series of sections, one per
// unit: a header row naming the libraries (each starting a group of
// columns), a row naming the unit of each group's first column, then one
// row per scenario, ending with a geomean row and a blank line. Rows that
// fit none of these (the goos/cpu preamble) are skipped.
func parse(r io.Reader) (results, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	res := results{}
	var libAt map[int]string // column index -> library, for this section
	var unit string
	for {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading csv: %w", err)
		}
		// The csv reader skips blank lines, so a section ends where a row
		// with an empty first cell follows the data rows.
		switch {
		case len(row) < 2:
			libAt, unit = nil, ""
		case row[0] == "" && (libAt == nil || unit != ""):
			libAt, unit = map[int]string{}, ""
			for i, name := range row {
				if i > 0 && name != "" {
					libAt[i] = name
				}
			}
		case row[0] == "" && unit == "":
			for _, col := range sortedCols(libAt) {
				if col < len(row) && row[col] != "" {
					unit = row[col]
					break
				}
			}
		case libAt != nil && unit != "" && row[0] != "geomean":
			scenario := procsSuffix.ReplaceAllString(row[0], "")
			t := res[scenario]
			if t == nil {
				t = &table{cells: map[string]map[string]cell{}}
				res[scenario] = t
			}
			for _, col := range sortedCols(libAt) {
				lib := libAt[col]
				if col >= len(row) || row[col] == "" {
					continue
				}
				v, err := strconv.ParseFloat(row[col], 64)
				if err != nil {
					return nil, fmt.Errorf("scenario %s, library %s, %s: bad value %q", scenario, lib, unit, row[col])
				}
				ci := ""
				if col+1 < len(row) {
					ci = row[col+1]
				}
				if t.cells[lib] == nil {
					t.cells[lib] = map[string]cell{}
					t.libs = append(t.libs, lib)
				}
				t.cells[lib][unit] = cell{value: v, ci: ci}
			}
		}
	}
	if len(res) == 0 {
		return nil, errors.New("no benchmark rows found: was the CSV made with -col /lib?")
	}
	return res, nil
}

// sortedCols returns the first columns of a section's libraries, in
// order.
func sortedCols(libAt map[int]string) []int {
	cols := make([]int, 0, len(libAt))
	for c := range libAt {
		cols = append(cols, c)
	}
	sort.Ints(cols)
	return cols
}

// scenarios returns the scenario names in presentation order.
func (res results) scenarios() []string {
	known := map[string]bool{}
	var out []string
	for _, s := range scenarioOrder {
		known[s] = true
		if res[s] != nil {
			out = append(out, s)
		}
	}
	var rest []string
	for s := range res {
		if !known[s] {
			rest = append(rest, s)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// ratio returns lib's value over rego's for unit, and whether both exist
// and rego's is positive.
func (t *table) ratio(lib, unit string) (float64, bool) {
	b, ok1 := t.cells[baseline][unit]
	v, ok2 := t.cells[lib][unit]
	if !ok1 || !ok2 || b.value <= 0 {
		return 0, false
	}
	return v.value / b.value, true
}

func write(w io.Writer, res results) error {
	var sb strings.Builder
	writeHeadline(&sb, res)
	for _, s := range res.scenarios() {
		t := res[s]
		if len(t.libs) == 0 {
			continue // a benchmark without /lib= (a paired one): no table
		}
		sort.SliceStable(t.libs, func(i, j int) bool { return rank(t.libs[i]) < rank(t.libs[j]) })
		fmt.Fprintf(&sb, "### %s\n\n", s)
		sb.WriteString("| library | ns/op | B/op | allocs/op | time ÷ rego | B ÷ rego | allocs ÷ rego |\n")
		sb.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
		for _, lib := range t.libs {
			c := t.cells[lib]
			fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s | %s |\n", lib,
				withCI(formatNs(c["sec/op"]), c["sec/op"]),
				formatCount(c["B/op"]), formatCount(c["allocs/op"]),
				formatRatio(t, lib, "sec/op"), formatRatio(t, lib, "B/op"), formatRatio(t, lib, "allocs/op"))
		}
		sb.WriteString("\n")
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// writeHeadline states the success-path ratios against the goals of the
// benchmark issue: rego at least 4x faster than failsafe-go, no slower
// than retry-go, at most one allocation.
func writeHeadline(sb *strings.Builder, res results) {
	t := res["Success"]
	if t == nil || t.cells[baseline] == nil {
		return
	}
	sb.WriteString("### Headline: the success path\n\n")
	sb.WriteString("| goal | measured | met |\n|---|---:|:---:|\n")
	if r, ok := t.ratio("failsafe-go", "sec/op"); ok {
		fmt.Fprintf(sb, "| rego at least 4x faster than failsafe-go | %.2fx | %s |\n", r, yesNo(r >= 4))
	}
	if r, ok := t.ratio("retry-go", "sec/op"); ok {
		fmt.Fprintf(sb, "| rego no slower than retry-go | %.2fx | %s |\n", r, yesNo(r >= 1))
	}
	if c, ok := t.cells[baseline]["allocs/op"]; ok {
		fmt.Fprintf(sb, "| rego at most one allocation per call | %s allocs/op | %s |\n", formatCount(c), yesNo(c.value <= 1))
	}
	sb.WriteString("\n")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "**no**"
}

func formatNs(c cell) string {
	ns := c.value * 1e9
	if ns >= 100 {
		return fmt.Sprintf("%.0f", ns)
	}
	return fmt.Sprintf("%.1f", ns)
}

func withCI(s string, c cell) string {
	if c.ci == "" {
		return s
	}
	return s + " ± " + c.ci
}

func formatCount(c cell) string {
	if c.value == float64(int64(c.value)) {
		return strconv.FormatInt(int64(c.value), 10)
	}
	return fmt.Sprintf("%.1f", c.value)
}

func formatRatio(t *table, lib, unit string) string {
	if lib == baseline {
		return "1"
	}
	r, ok := t.ratio(lib, unit)
	if !ok {
		if _, has := t.cells[lib][unit]; has && t.cells[baseline] != nil {
			return "n/a (rego 0)"
		}
		return "–"
	}
	return fmt.Sprintf("%.2fx", r)
}
