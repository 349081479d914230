// Package registry is the domain of Persona Registry: what a persona and its
// versions are, given the first-parent history of a branch of persona files
// (DESIGN.md's history rules), and the reads and writes the API offers on it.
//
// It speaks to git only through package gitdb, in hashes, paths, blobs, tree
// changes and commits; no go-git type is used here. Writes are file changes
// (fileEdit) that gitdb turns into trees, commits and a ref update.
//
// Read it in this order:
//
//   - registry.go: Open, the goroutine that owns the repository, refresh:
//     bring the index from its head to the branch head and publish a Snapshot.
//   - walk.go: the indexer; the first-parent chain, each commit's changed
//     persona and unit-test files, their blobs parsed on all cores;
//     speculate.go: the newest commits diffed and parsed while the chain is
//     still being read.
//   - rules.go: the history rules, applied commit by commit in order: which
//     file a persona lives in, when it gets a version, deletes, restores,
//     renames, duplicate ids, problems.
//   - persona.go, snapshot.go: Persona, Version and the immutable Snapshot
//     handlers read without locks.
//   - query.go, searchindex.go: listing, filters, sorting, full-text search
//     (package search).
//   - diff.go: CompareRevisions, the registry at two revisions persona by
//     persona (`personas diff`).
//   - write.go: Create, Update, Delete as file edits committed with a
//     compare-and-swap of the branch; remote.go: replicas that fetch from and
//     push to a remote; watch.go: following the branch.
//   - cache.go: the snapshot cache that makes a restart cheap (its records
//     decoded on one goroutine while another builds the state; the values
//     versions share written once).
//   - text.go, slab.go, compact.go, intern.go: what keeps the index small:
//     backgrounds as token numbers (Text), versions allocated side by side,
//     the index's objects moved together after a cold walk, equal values
//     shared.
//   - refsnap.go, refcache.go, checkpoint.go: snapshots of other refs
//     (/ref/{ref}/ previews) built from the nearest known state (served head,
//     a checkpoint of the branch, kept as a walk applies its commits, or a
//     cached ref) and kept in a bounded LRU;
//     reffetch.go: resolving a ref, fetching it when a replica lacks it;
//     refdiff.go: RefDiff, `personas diff` for BRANCH...ref.
//   - errors.go: the one error type and its codes (the server maps each code
//     to an HTTP status); metrics.go.
package registry
