package sim_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
)

// series is one line of a chart.
type series struct {
	name   string
	color  string
	values []float64
}

// svgChart draws lines over seconds 0..n-1 with the standard library only:
// axes, a shaded band [bandFrom, bandTo) (the spike), a legend.
func svgChart(title, yLabel string, lines []series, yMax float64, bandFrom, bandTo int) string {
	const w, h, left, right, top, bottom = 720, 360, 60, 170, 40, 50
	n := 0
	for _, l := range lines {
		if len(l.values) > n {
			n = len(l.values)
		}
	}
	pw, ph := float64(w-left-right), float64(h-top-bottom)
	x := func(i float64) float64 { return float64(left) + pw*i/float64(n-1) }
	y := func(v float64) float64 { return float64(top) + ph*(1-v/yMax) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="14">%s</text>`+"\n", left, title)
	fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%.1f" fill="#f3d9d9"/>`+"\n", x(float64(bandFrom)), top, x(float64(bandTo))-x(float64(bandFrom)), ph)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#a33">spike</text>`+"\n", x(float64(bandFrom)), top+14)
	for i := 0; i <= 5; i++ {
		v := yMax * float64(i) / 5
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, y(v), w-right, y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%.0f</text>`+"\n", left-6, y(v)+4, v)
	}
	for s := 0; s < n; s += 10 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%ds</text>`+"\n", x(float64(s)), h-bottom+18, s)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">virtual time</text>`+"\n", left+int(pw/2), h-10)
	fmt.Fprintf(&b, `<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">%s</text>`+"\n", top+int(ph/2), top+int(ph/2), yLabel)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top+int(ph), w-right, top+int(ph))
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top, left, top+int(ph))
	for k, l := range lines {
		var pts []string
		for i, v := range l.values {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(float64(i)), y(v)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", l.color, strings.Join(pts, " "))
		ly := top + 10 + 20*k
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", w-right+12, ly, w-right+32, ly, l.color)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", w-right+38, ly+4, l.name)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// syncFile checks that the file at path holds content, or writes it with
// -update-docs.
func syncFile(t *testing.T, path, content string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err == nil && string(raw) == content {
		return
	}
	if !*updateDocs {
		if runtime.GOARCH != "amd64" {
			// The generated numbers are the amd64 ones; see syncDoc.
			t.Logf("%s differs from this %s run", path, runtime.GOARCH)
			return
		}
		t.Errorf("%s is not what the test generates; run go test ./sim/ -run %s -update-docs", path, t.Name())
		return
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// syncBlock checks that the block between the marker comments of the doc
// at path is content, or rewrites it with -update-docs.
func syncBlock(t *testing.T, path, marker, content string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	doc := string(raw)
	begin, end := "<!-- "+marker+":begin -->\n", "<!-- "+marker+":end -->"
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the %s markers", path, marker)
	}
	syncFile(t, path, doc[:i+len(begin)]+content+doc[j:])
}
