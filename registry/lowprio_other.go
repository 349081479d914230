//go:build !linux

package registry

// runLowPriority runs fn; only Linux lowers the priority of a thread.
func runLowPriority(fn func()) { fn() }
