package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfiles starts the profiles named by PERSONAS_CPUPROFILE and
// PERSONAS_MEMPROFILE (file paths), for whoever measures a command; the
// returned stop writes them. Unset variables cost nothing.
func startProfiles(stderr io.Writer) (stop func()) {
	cpuPath, memPath := os.Getenv("PERSONAS_CPUPROFILE"), os.Getenv("PERSONAS_MEMPROFILE")
	var cpu *os.File
	if cpuPath != "" {
		f, err := os.Create(cpuPath)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(stderr, "personas: cpu profile:", err)
		} else {
			cpu = f
		}
	}
	return func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}
		if memPath == "" {
			return
		}
		f, err := os.Create(memPath)
		if err == nil {
			runtime.GC()
			err = pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
		if err != nil {
			fmt.Fprintln(stderr, "personas: memory profile:", err)
		}
	}
}
