// Package gittest builds real git repositories for tests, the way
// net/http/httptest builds real servers: a worktree or a bare repository in
// t.TempDir(), files written and committed with the git command line under a
// fixed identity and clock (nothing depends on the user's configuration or
// the time of day), clones and pushes, and generated histories of any size
// (package repogen) made once per machine.
//
// Start with NewRepo (a worktree on branch main) or NewBare; Run and Try run
// any other git command with Env, the fixed environment.
package gittest
