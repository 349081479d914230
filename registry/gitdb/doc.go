// Package gitdb reads and writes git repositories for the registry: object
// lookup (a fast pack reader with delta resolution, go-git for the rest),
// commit parsing, raw tree diffs, building trees and commits without a
// worktree or an index, moving a branch with git's own lock protocol
// (loose refs and packed-refs), and fetch and push to a remote.
//
// Its API speaks in Hash, paths, blobs, Change (one changed file between two
// trees) and Commit; it knows nothing about personas, and no go-git type
// crosses it. A Repo is owned by one goroutine; while it waits, workers may
// read objects through it at once (see Repo).
//
// Start with Repo (repo.go): Open, Commit, ReadBlob, ReadFile, and Busy,
// Trim and Idle around a walk; then TreeReader (treediff.go, diffs that skip
// the bytes two trees share) for the history walk, EditTree and WriteCommit
// (write.go) and UpdateRef (ref.go) for writes, Fetch and Push (remote.go)
// for replicas; ReadRef, RemoteRefs and FetchRef (remoteref.go) for refs
// other than the branch. pack.go and delta.go are the pack reader.
package gitdb
