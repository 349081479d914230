//go:build !linux

package registry

// runLowPriority runs fn; only Linux lowers the priority of a thread.
func runLowPriority(fn func()) { fn() }

// withSparePs runs fn; without thread priorities spare Ps would not help.
func withSparePs(extra int, fn func()) { fn() }
