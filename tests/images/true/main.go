// Command true is the program of true.aci, the smallest image the benchmarks
// run: it exits with status 0 and does nothing else.
package main

func main() {}
