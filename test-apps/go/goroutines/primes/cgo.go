//go:build rf_cgo

// With this file (named on go build's command line, or -tags rf_cgo) the prime
// workers become a cgo program: the runtime then starts its threads through
// pthread_create and the system linker links the binary, which the reader
// must take apart the same way.
package main

// #include <unistd.h>
import "C"

func init() {
	if C.getpid() <= 0 {
		panic("getpid")
	}
}
