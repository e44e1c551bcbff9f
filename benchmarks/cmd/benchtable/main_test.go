package main

import (
	"os"
	"strings"
	"testing"
)

// parseFile parses testdata/name.
func parseFile(t *testing.T, name string) results {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestParseAndWrite(t *testing.T) {
	res := parseFile(t, "sample.csv")
	if got := res.scenarios(); strings.Join(got, ",") != "Success,Events" {
		t.Fatalf("scenarios = %v, want Success,Events", got)
	}
	s := res["Success"]
	if r, ok := s.ratio("failsafe-go", "sec/op"); !ok || r < 4.99 || r > 5.01 {
		t.Errorf("failsafe-go time ratio = %v, %v; want 5", r, ok)
	}
	if c := s.cells["retry-go"]["allocs/op"]; c.value != 4 || c.ci != "0%" {
		t.Errorf("retry-go allocs = %+v, want 4 ± 0%%", c)
	}
	if _, ok := res["Events"].cells["failsafe-go"]; ok {
		t.Error("failsafe-go has Events cells; it ran no Events benchmark")
	}

	var out strings.Builder
	if err := write(&out, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| rego at least 4x faster than failsafe-go | 5.00x | yes |",
		"| rego no slower than retry-go | 0.75x | **no** |",
		"| rego at most one allocation per call | 1 allocs/op | yes |",
		"| failsafe-go | 1000 ± 2% | 464 | 14 | 5.00x | 7.25x | 14.00x |",
		"| retry-go | 2000 ± 4% | 768 | 12 | 0.50x | 0.37x | 1.00x |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestParseRejectsOtherInput(t *testing.T) {
	if _, err := parse(strings.NewReader("goos: linux\nnot,a,benchstat,csv\n")); err == nil {
		t.Error("parse accepted input with no benchmark rows")
	}
	_, err := parse(strings.NewReader(",rego,\n,sec/op,CI\nSuccess-2,fast,1%\n"))
	if err == nil || !strings.Contains(err.Error(), "Success") || !strings.Contains(err.Error(), "rego") {
		t.Errorf("bad value: err = %v, want one naming the scenario and library", err)
	}
}

func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/sample.csv"); err == nil {
		f.Add(string(b))
	}
	f.Add(",rego,\n,sec/op,CI\nSuccess-2,1e-07,1%\n")
	f.Fuzz(func(t *testing.T, in string) {
		res, err := parse(strings.NewReader(in))
		if err != nil {
			return
		}
		var out strings.Builder
		if err := write(&out, res); err != nil {
			t.Fatal(err)
		}
	})
}

// Benchmarks without a library (the paired ones report differences) get no
// table of their own.
func TestWriteSkipsBenchmarksWithoutLibraries(t *testing.T) {
	res := parseFile(t, "paired.csv")
	var out strings.Builder
	if err := write(&out, res); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "Paired") || !strings.Contains(out.String(), "### Success") {
		t.Fatalf("output:\n%s", out.String())
	}
}
