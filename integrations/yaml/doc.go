// Package regoyaml is work in progress.
package regoyaml
