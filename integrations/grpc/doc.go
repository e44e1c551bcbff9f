// Package regogrpc is work in progress.
package regogrpc
