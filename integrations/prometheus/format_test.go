package regoprom

import "strconv"

// formatFloat renders v as the text exposition format does.
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
