// Package podstate finds pods in rkt's data directory and derives their
// states from the state directory and lock of each pod.
// It also reads what stage0 and stage1 leave in a pod directory for
// rkt list and rkt status, moves pods between states for rkt gc and rkt rm,
// and runs the stage1 stop entrypoint.
//
// Every state it reports is a sample that may be stale at once. Losing a
// rename race to another rkt process is a normal outcome: the functions here
// report it with errors wrapping ErrPodGone, not as corruption.
package podstate
