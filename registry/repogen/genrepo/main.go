// Command genrepo makes a synthetic persona repository (a bare git
// repository) with package repogen, and prints the time taken and its size:
//
//	go run ./registry/repogen/genrepo -personas 10000 -commits 100000 -seed 1 -out /tmp/bench.git
//
// -import makes it with git fast-import instead (same commits, much slower).
// With -stream FILE it writes the `git fast-import` stream to FILE ("-" for
// standard output) instead of making a repository.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/personaregistry/personas/registry/repogen"
)

func main() {
	var cfg repogen.Config
	flag.IntVar(&cfg.Personas, "personas", 50, "number of distinct personas")
	flag.IntVar(&cfg.Commits, "commits", 300, "number of first-parent commits on main")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "random seed")
	flag.StringVar(&cfg.Dir, "dir", repogen.DefaultDir, "persona directory inside the repository")
	out := flag.String("out", "repogen.git", "bare repository to create (must not exist, or be empty)")
	stream := flag.String("stream", "", "write the fast-import stream to this file (\"-\" for stdout) instead of making a repository")
	force := flag.Bool("force", false, "remove -out first when it is a bare git repository")
	useImport := flag.Bool("import", false, "make the repository with git fast-import (repogen.Import: same commits, much slower)")
	flag.Parse()
	if err := run(cfg, *out, *stream, *force, *useImport); err != nil {
		fmt.Fprintln(os.Stderr, "genrepo:", err)
		os.Exit(1)
	}
}

func run(cfg repogen.Config, out, stream string, force, useImport bool) error {
	if stream != "" {
		return writeStream(cfg, stream)
	}
	if force {
		if err := removeRepo(out); err != nil {
			return err
		}
	}
	fmt.Printf("generating %d personas, %d first-parent commits, seed %d into %s (GOMAXPROCS %d)\n",
		cfg.Personas, cfg.Commits, cfg.Seed, out, runtime.GOMAXPROCS(0))

	var cw countWriter
	start := time.Now()
	if err := repogen.Generate(&cw, cfg); err != nil {
		return err
	}
	fmt.Printf("stream only (Generate to a counter): %v, %s\n", time.Since(start).Round(time.Millisecond), human(cw.n))

	create, how := repogen.Create, "create (pack writer)"
	if useImport {
		create, how = repogen.Import, "import (git fast-import)"
	}
	start = time.Now()
	if err := create(out, cfg); err != nil {
		return err
	}
	took := time.Since(start)
	size, err := dirSize(out)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %v\n", how, took.Round(time.Millisecond))
	fmt.Printf("repository size: %s (%d bytes) at %s\n", human(size), size, out)
	return nil
}

func writeStream(cfg repogen.Config, name string) error {
	if name == "-" {
		return repogen.Generate(os.Stdout, cfg)
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	if err := repogen.Generate(bw, cfg); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// removeRepo removes dir if it looks like a bare git repository.
func removeRepo(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	for _, name := range []string{"HEAD", "objects", "refs"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("-force: %s does not look like a bare git repository (no %s); not removing it", dir, name)
		}
	}
	return os.RemoveAll(dir)
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

var _ io.Writer = (*countWriter)(nil)

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	return n, err
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
