//go:build linux

package registry

import (
	"runtime"
	"syscall"
)

// backgroundNice is the CPU priority of background work while serving: the
// lowest, so that the kernel runs request threads first.
const backgroundNice = 19

// runLowPriority runs fn on an OS thread of its own at the lowest CPU
// priority and waits for it. The thread stays locked to the goroutine, so it
// ends with it and its priority never reaches other goroutines.
func runLowPriority(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), backgroundNice) // best effort
		fn()
	}()
	<-done
}
