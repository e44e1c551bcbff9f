// Package benchmarks is work in progress.
package benchmarks
